"""2D discrete wavelet transform of complex image batches, and its soft threshold.

The transform is PyWavelets' (`wavedec2` / `waverec2`, CPU) for CPU tensors and
ptwt's (the same filters and boundary handling in torch) for tensors on an
accelerator: both give the same coefficients (tests/classical/test_wavelet.py),
so a run gives the same image on either device. Boundary mode "zero" (sigpy's
choice for its L1WaveletRecon): the analysis is a tight frame, W^T W = I, with
~10% more coefficients than pixels, and `inverse` is both its left inverse and
its adjoint. Complex images are transformed as real and imaginary parts;
thresholding acts on the complex coefficients' magnitude, as sigpy does.
"""

import numpy as np
import ptwt
import pywt
import torch
from ptwt.constants import WaveletDetailTuple2d


class Wavelet:
    """Multi-level 2D wavelet over the last two axes of (B, H, W) complex images.

    wavelet: a PyWavelets name (default "db4", sigpy's); level: number of
    levels, None for PyWavelets' maximum for (H, W) (sigpy's default);
    mode: PyWavelets boundary mode ("zero" by default); backend: "pywt",
    "ptwt", or None for pywt on CPU tensors and ptwt on accelerators.
    Coefficients are one real tensor (2, B, N): real and imaginary parts, the
    N coefficients of every band of each image one after another.
    """

    def __init__(self, shape: tuple[int, int], wavelet: str = "db4",
                 level: int | None = None, mode: str = "zero",
                 backend: str | None = None):
        if backend not in (None, "pywt", "ptwt"):
            raise ValueError(f"Wavelet backend must be 'pywt', 'ptwt' or None; "
                             f"got {backend!r}.")
        self.backend = backend
        self.shape = tuple(shape)
        self.wavelet = wavelet
        self.mode = mode
        max_level = pywt.dwtn_max_level(self.shape, wavelet)
        self.level = max_level if level is None else int(level)
        if not 1 <= self.level:
            raise ValueError(
                f"Wavelet level must be >= 1 (got {level}); an image of "
                f"{self.shape} allows up to {max_level} levels of {wavelet!r}."
            )
        probe = pywt.wavedec2(np.zeros(self.shape, np.float32), wavelet, mode,
                              self.level)
        # (h, w) of the approximation band, then of each level's 3 details.
        self._bands = [probe[0].shape] + [b.shape for d in probe[1:] for b in d]
        self.n_coeffs = sum(h * w for h, w in self._bands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W) complex -> (2, B, N) real coefficients."""
        parts = torch.stack([x.real, x.imag])  # (2, B, H, W)
        if self._pywt(x):
            coeffs = pywt.wavedec2(parts.numpy(), self.wavelet, self.mode,
                                   self.level, axes=(-2, -1))
            flat = [coeffs[0]] + [band for detail in coeffs[1:] for band in detail]
            flat = np.concatenate([b.reshape(*b.shape[:2], -1) for b in flat], -1)
            return torch.from_numpy(flat)
        coeffs = ptwt.wavedec2(parts, self.wavelet, mode=self.mode,
                               level=self.level, axes=(-2, -1))
        flat = [coeffs[0]] + [band for detail in coeffs[1:] for band in detail]
        return torch.cat([b.flatten(-2) for b in flat], -1)

    def inverse(self, c: torch.Tensor) -> torch.Tensor:
        """(2, B, N) real coefficients -> (B, H, W) complex (adjoint of forward)."""
        bands, start = [], 0
        for shape in self._bands:
            n = shape[0] * shape[1]
            bands.append(c[..., start : start + n].reshape(*c.shape[:2], *shape))
            start += n
        coeffs = [bands[0]] + [tuple(bands[1 + 3 * i : 4 + 3 * i])
                               for i in range(self.level)]
        if self._pywt(c):
            coeffs = [coeffs[0].numpy()] + [tuple(b.numpy() for b in d)
                                            for d in coeffs[1:]]
            parts = torch.from_numpy(
                pywt.waverec2(coeffs, self.wavelet, self.mode, axes=(-2, -1)))
        else:
            coeffs = [coeffs[0]] + [WaveletDetailTuple2d(*d) for d in coeffs[1:]]
            parts = ptwt.waverec2(tuple(coeffs), self.wavelet, axes=(-2, -1))
        parts = parts[..., : self.shape[0], : self.shape[1]]
        return torch.complex(parts[0], parts[1])

    def _pywt(self, x: torch.Tensor) -> bool:
        if self.backend is None:
            return x.device.type == "cpu"
        return self.backend == "pywt"


def soft_threshold(c: torch.Tensor, threshold) -> torch.Tensor:
    """Complex soft threshold of (2, ...) real/imaginary coefficient pairs:
    each complex value shrinks by `threshold` in magnitude, keeping its phase."""
    tiny = torch.finfo(c.dtype).tiny  # |c|^2 floor: no 0 * inf below
    scale = c[0].square().addcmul_(c[1], c[1]).clamp_(min=tiny).rsqrt_()
    return c * scale.mul_(-threshold).add_(1).clamp_(min=0)
