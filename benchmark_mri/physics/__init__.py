"""Forward models (each with forward / adjoint, adjoint-tested) and masks."""

from .coils import rss
from .density import DensityWeighted, normalize_dcf, pipe_menon_dcf, radial_ramp_dcf
from .fft import checkerboard, fft2c, ifft2c
from .masks import CartesianSampling, acs_bounds, slice_seed
from .nufft import CoilNufft, NufftSense, plan_nufft
from .operator import LinearOperator, conjugate_gradient, op_norm
from .sense import CoilFourier, Sense

__all__ = [
    "CartesianSampling",
    "CoilFourier",
    "CoilNufft",
    "DensityWeighted",
    "LinearOperator",
    "NufftSense",
    "Sense",
    "acs_bounds",
    "checkerboard",
    "conjugate_gradient",
    "fft2c",
    "ifft2c",
    "normalize_dcf",
    "op_norm",
    "pipe_menon_dcf",
    "plan_nufft",
    "radial_ramp_dcf",
    "rss",
    "slice_seed",
]
