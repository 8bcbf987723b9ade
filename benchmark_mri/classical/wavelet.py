"""2D discrete wavelet transform of complex image batches, and its soft threshold.

PyWavelets' transform (`wavedec2` / `waverec2`), boundary mode "zero" (sigpy's
choice for its L1WaveletRecon): the analysis is a tight frame, W^T W = I, with
~10% more coefficients than pixels, and `inverse` is both its left inverse and
its adjoint. Complex images are transformed as real and imaginary parts;
thresholding acts on the complex coefficients' magnitude, as sigpy does.

Three implementations give the same coefficients, in PyWavelets' order
(tests/classical/test_wavelet.py), so a run gives the same image with any:
- "conv" (the default for orthogonal wavelets in mode "zero", on any device):
  a level is one strided 2D convolution with the four separable filter
  products (approximation and the three details at once), and its inverse,
  the adjoint, one convolution with the filters' four polyphase components
  and a pixel shuffle: torch's convolutions, faster than PyWavelets' loops
  on the CPU (docs/classical-checks.md), and the same code on accelerators;
- "pywt": PyWavelets itself (the default on CPU tensors otherwise);
- "ptwt": ptwt (torch; the default on accelerators otherwise).
"""

import numpy as np
import ptwt
import pywt
import torch
import torch.nn.functional as F
from ptwt.constants import WaveletDetailTuple2d

BACKENDS = ("conv", "pywt", "ptwt")


class Wavelet:
    """Multi-level 2D wavelet over the last two axes of (B, H, W) complex images.

    wavelet: a PyWavelets name (default "db4", sigpy's); level: number of
    levels, None for PyWavelets' maximum for (H, W) (sigpy's default);
    mode: PyWavelets boundary mode ("zero" by default); backend: "conv",
    "pywt", "ptwt", or None: "conv" where it applies (an orthogonal wavelet,
    mode "zero"), else pywt on CPU tensors and ptwt on accelerators.
    Coefficients are one real tensor (2, B, N): real and imaginary parts, the
    N coefficients of every band of each image one after another, in
    PyWavelets' order (approximation, then each level's horizontal,
    vertical and diagonal details, coarsest first).
    """

    def __init__(self, shape: tuple[int, int], wavelet: str = "db4",
                 level: int | None = None, mode: str = "zero",
                 backend: str | None = None):
        if backend not in (None, *BACKENDS):
            raise ValueError(f"Wavelet backend must be one of {BACKENDS} or None; "
                             f"got {backend!r}.")
        filters = pywt.Wavelet(wavelet)
        conv_applies = filters.orthogonal and mode == "zero"
        if backend == "conv" and not conv_applies:
            raise ValueError(
                f"Wavelet backend 'conv' needs an orthogonal wavelet and mode "
                f"'zero' (got {wavelet!r}, {mode!r}); use 'pywt' or 'ptwt'.")
        if backend is None and conv_applies:
            backend = "conv"
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
        # (h, w) of what each level analyses, finest first: the image, then
        # each level's approximation (the detail bands' shapes, coarsest first).
        details = self._bands[1::3]
        self._level_inputs = [self.shape] + details[::-1][:-1]
        if backend == "conv":
            self._conv = _ConvFilters(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W) complex -> (2, B, N) real coefficients."""
        parts = torch.stack([x.real, x.imag])  # (2, B, H, W)
        if self.backend == "conv":
            return self._conv_forward(parts)
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
        if self.backend == "conv":
            return self._conv_inverse(c)
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

    def _conv_forward(self, parts: torch.Tensor) -> torch.Tensor:
        two, B = parts.shape[:2]
        out = parts.new_empty(two * B, self.n_coeffs)
        a = parts.reshape(two * B, 1, *self.shape)
        stop = self.n_coeffs
        for _ in range(self.level):  # finest level first: the end of `out`
            a, details = self._conv.analysis(a)  # (2B, 1, h, w), (2B, 3, h, w)
            start = stop - details[0].numel()
            out[:, start:stop] = details.flatten(1)
            stop = start
        out[:, :stop] = a.flatten(1)
        return out.view(two, B, -1)

    def _conv_inverse(self, c: torch.Tensor) -> torch.Tensor:
        two, B, _ = c.shape
        c = c.reshape(two * B, -1)
        h, w = self._bands[0]
        a, start = c[:, : h * w].view(-1, 1, h, w), h * w
        for size in self._level_inputs[::-1]:  # coarsest level first
            h, w = a.shape[-2:]
            details = c[:, start : start + 3 * h * w].view(-1, 3, h, w)
            a = self._conv.synthesis(a, details, size)
            start += 3 * h * w
        parts = a.view(two, B, *self.shape)
        return torch.complex(parts[0], parts[1])

    def _pywt(self, x: torch.Tensor) -> bool:
        if self.backend is None:
            return x.device.type == "cpu"
        return self.backend == "pywt"


class _ConvFilters:
    """One level of an orthogonal wavelet in mode "zero" as convolutions.

    Analysis: PyWavelets' band (k) of a signal x of length n is
    sum_j h[j] x[2 k + 1 - j] (x zero outside [0, n)), k < (n + f - 1) // 2
    for filters of length f: a stride-2 correlation with the reversed
    filter, of x padded by f - 2 zeros before and f - 1 after. In 2D the
    four bands (approximation, then the details whose high-pass runs along
    rows, columns, both: PyWavelets' aa, da, ad, dd) are four channels of one
    convolution with the separable products of the filters.
    Synthesis, the adjoint (equal to the inverse for an orthogonal
    wavelet): sample 2 m + r of the output (r = 0, 1 per axis) collects the
    filter taps r, r + 2, ... of the bands: a stride-1 convolution of the
    bands with the filters' polyphase components (f / 2 taps per axis), the
    four phases as channels, then interleaved (pixel shuffle). Its first
    sample is the signal's first: no output to crop but the end.
    """

    def __init__(self, filters: pywt.Wavelet):
        lo = torch.tensor(filters.dec_lo[::-1], dtype=torch.float64)
        hi = torch.tensor(filters.dec_hi[::-1], dtype=torch.float64)
        self.f = f = lo.numel()
        bands = [(lo, lo), (hi, lo), (lo, hi), (hi, hi)]  # (rows, columns)
        kernel = torch.stack([torch.outer(r, c) for r, c in bands])  # (4, f, f)
        self.analysis_kernel = kernel[:, None].float()  # (4, 1, f, f)
        # phases[r, q, band, s, t] = kernel[band, r + 2 (half - 1 - s),
        #                                   q + 2 (half - 1 - t)], half = f / 2
        half = f // 2
        taps = kernel.view(4, half, 2, half, 2).flip(1, 3)  # (band, s, r, t, q)
        self.synthesis_kernel = taps.permute(2, 4, 0, 1, 3).reshape(
            4, 4, half, half).float().contiguous()
        self._on = {}

    def _kernels(self, like: torch.Tensor):
        key = (like.device, like.dtype)
        if key not in self._on:
            self._on[key] = (self.analysis_kernel.to(like),
                             self.synthesis_kernel.to(like))
        return self._on[key]

    def analysis(self, a: torch.Tensor):
        """(N, 1, h, w) -> approximation (N, 1, h', w'), details (N, 3, h', w')."""
        f = self.f
        padded = F.pad(a, (f - 2, f - 1, f - 2, f - 1))
        bands = F.conv2d(padded, self._kernels(a)[0], stride=2)
        return bands[:, :1], bands[:, 1:]

    def synthesis(self, a, details, size) -> torch.Tensor:
        """Approximation (N, 1, h', w') and details (N, 3, h', w') -> the
        (N, 1, *size) signal they analyse."""
        phases = F.conv2d(torch.cat([a, details], 1), self._kernels(a)[1])
        signal = F.pixel_shuffle(phases, 2)
        return signal[..., : size[0], : size[1]]


def soft_threshold(c: torch.Tensor, threshold, in_place: bool = False) -> torch.Tensor:
    """Complex soft threshold of (2, ...) real/imaginary coefficient pairs:
    each complex value shrinks by `threshold` in magnitude, keeping its phase.
    in_place=True overwrites c with the result."""
    tiny = torch.finfo(c.dtype).tiny  # |c|^2 floor: no 0 * inf below
    scale = c[0].square().addcmul_(c[1], c[1]).clamp_(min=tiny).rsqrt_()
    scale = scale.mul_(-threshold).add_(1).clamp_(min=0)
    return c.mul_(scale) if in_place else c * scale
