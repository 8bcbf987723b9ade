"""Data: phantoms, undersampling, coil-map estimation, the exchanged types."""

from .measure import measure, phantom_split, volume_mask
from .phantom import phantom_volumes, simulate_volume
from .smaps import (
    SMAPS_METHODS,
    estimate_smaps,
    estimate_smaps_acs,
    estimate_smaps_espirit,
)
from .transforms import center_crop, to_numpy
from .types import Measurement, Volume

__all__ = [
    "SMAPS_METHODS",
    "Measurement",
    "Volume",
    "center_crop",
    "phantom_split",
    "estimate_smaps",
    "estimate_smaps_acs",
    "estimate_smaps_espirit",
    "measure",
    "phantom_volumes",
    "simulate_volume",
    "to_numpy",
    "volume_mask",
]
