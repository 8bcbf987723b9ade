"""Classical reconstructions (no training), usable without benchopt."""

from .grappa import check_grappa_inputs, grappa, grappa_fill
from .wavelet import Wavelet, soft_threshold
from .wavelet_l1 import WaveletL1, WaveletL1Split, wavelet_l1
from .zero_filled import zero_filled

__all__ = [
    "Wavelet",
    "WaveletL1",
    "WaveletL1Split",
    "check_grappa_inputs",
    "grappa",
    "grappa_fill",
    "soft_threshold",
    "wavelet_l1",
    "zero_filled",
]
