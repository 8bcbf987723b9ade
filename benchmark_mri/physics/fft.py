"""Centred, orthonormal 2D Fourier transforms over the last two axes.

image = fftshift(ifft2(ifftshift(kspace), norm="ortho")), the convention of
fastMRI's files: the DC sample sits at index (H // 2, W // 2).
"""

from functools import lru_cache

import torch

_DIMS = (-2, -1)


def fft2c(x: torch.Tensor) -> torch.Tensor:
    """Image (..., H, W) complex -> centred k-space (..., H, W), orthonormal."""
    x = torch.fft.ifftshift(x, dim=_DIMS)
    y = torch.fft.fft2(x, dim=_DIMS, norm="ortho")
    return torch.fft.fftshift(y, dim=_DIMS)


def ifft2c(y: torch.Tensor) -> torch.Tensor:
    """Centred k-space (..., H, W) complex -> image (..., H, W), orthonormal."""
    y = torch.fft.ifftshift(y, dim=_DIMS)
    x = torch.fft.ifft2(y, dim=_DIMS, norm="ortho")
    return torch.fft.fftshift(x, dim=_DIMS)


@lru_cache(maxsize=16)
def checkerboard(H: int, W: int, device) -> torch.Tensor:
    """(-1)^(i + j) on an (H, W) grid, float32 (cached; do not modify it).

    For even H and W, ifft2c(y) = D ifft2(D y) up to a sign per pixel, with D
    this checkerboard (a shift by half the size is a modulation by (-1)^n):
    the centred transforms without FFT shifts, where magnitudes or the
    normal operator D F^H M F D (D M D = M) are all that is needed."""
    i = torch.arange(H, device=device)[:, None]
    j = torch.arange(W, device=device)[None, :]
    return 1.0 - 2.0 * ((i + j) % 2).to(torch.float32)
