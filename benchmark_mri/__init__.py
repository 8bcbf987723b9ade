"""benchmark_mri: the library behind the benchopt MRI reconstruction benchmark.

Conventions (see docs/evaluation.md, "Conventions"): images and k-space are
complex64 torch tensors shaped (..., coils, H, W); k-space is centred (DC in
the middle) and the 2D FFT is orthonormal.
"""

__version__ = "0.1.0"
