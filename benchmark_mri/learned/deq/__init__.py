"""Deep equilibrium reconstruction: fixed-point solvers (Broyden, Anderson),
backward modes (implicit gradient, SHINE and its variants, Jacobian-free), and
the DEQ-MRI model."""

from .backward import MODES as BACKWARD_MODES
from .backward import BackwardConfig, implicit_direction
from .fixed_point import FixedPointResult, LowRankInverse, anderson, broyden
from .model import (
    PRESETS,
    DEQConfig,
    DEQConvergenceWarning,
    DEQDivergedError,
    DEQRecon,
    deq_step,
)

__all__ = [
    "BACKWARD_MODES",
    "BackwardConfig",
    "DEQConfig",
    "DEQConvergenceWarning",
    "DEQDivergedError",
    "DEQRecon",
    "FixedPointResult",
    "LowRankInverse",
    "PRESETS",
    "anderson",
    "broyden",
    "deq_step",
    "implicit_direction",
]
