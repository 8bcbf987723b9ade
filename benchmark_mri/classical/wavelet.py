"""2D discrete wavelet transform of complex image batches, and its soft threshold.

The transform is PyWavelets' multilevel `wavedec2` / `waverec2` with boundary
mode "zero" (sigpy's choice for its L1WaveletRecon): for an orthogonal wavelet
the analysis is a tight frame, W^T W = I, with ~10% more coefficients than
pixels, and `inverse` is both its left inverse and its adjoint. Complex images
are transformed as real and imaginary parts; thresholding acts on the complex
coefficients' magnitude, as sigpy does.

Backends, all giving the same coefficients (tests/classical/test_wavelet.py):
- "torch" (the default for mode "zero" and an orthogonal wavelet): strided
  convolutions in torch, any device. Each level filters the rows then the
  columns (analysis, stride 2), and synthesises from the polyphase filters
  (two output phases per axis, interleaved), which on a CPU is faster than
  PyWavelets' C loops;
- "pywt": PyWavelets itself (CPU), the reference;
- "ptwt": ptwt's torch port of PyWavelets (any device), for other modes.
"""

import numpy as np
import ptwt
import pywt
import torch
from ptwt.constants import WaveletDetailTuple2d

F = torch.nn.functional


class Wavelet:
    """Multi-level 2D wavelet over the last two axes of (B, H, W) complex images.

    wavelet: a PyWavelets name (default "db4", sigpy's); level: number of
    levels, None for PyWavelets' maximum for (H, W) (sigpy's default);
    mode: PyWavelets boundary mode ("zero" by default); backend: "torch",
    "pywt", "ptwt", or None: "torch" for mode "zero" and an orthogonal
    wavelet, otherwise pywt on CPU tensors and ptwt on accelerators.
    Coefficients are one real tensor (2, B, N): real and imaginary parts, the
    N coefficients of every band of each image one after another, in
    PyWavelets' order (approximation, then each level's horizontal, vertical,
    diagonal details, coarsest first).
    """

    def __init__(self, shape: tuple[int, int], wavelet: str = "db4",
                 level: int | None = None, mode: str = "zero",
                 backend: str | None = None):
        if backend not in (None, "torch", "pywt", "ptwt"):
            raise ValueError(f"Wavelet backend must be 'torch', 'pywt', 'ptwt' or "
                             f"None; got {backend!r}.")
        orthogonal = pywt.Wavelet(wavelet).orthogonal
        if backend == "torch" and not (mode == "zero" and orthogonal):
            raise ValueError(
                f"Wavelet backend 'torch' needs mode 'zero' and an orthogonal "
                f"wavelet; got mode {mode!r}, wavelet {wavelet!r}: use 'pywt'.")
        if backend is None and mode == "zero" and orthogonal:
            backend = "torch"
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
        # (H, W) of the image and of each level's approximation, finest first.
        self._sizes = [self.shape] + [d[0].shape for d in probe[:0:-1]]
        self._filters = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W) complex -> (2, B, N) real coefficients."""
        if self._backend(x) == "torch":
            return self._torch_forward(x)
        parts = torch.stack([x.real, x.imag])  # (2, B, H, W)
        if self._backend(x) == "pywt":
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
        if self._backend(c) == "torch":
            return self._torch_inverse(c)
        bands, start = [], 0
        for shape in self._bands:
            n = shape[0] * shape[1]
            bands.append(c[..., start : start + n].reshape(*c.shape[:2], *shape))
            start += n
        coeffs = [bands[0]] + [tuple(bands[1 + 3 * i : 4 + 3 * i])
                               for i in range(self.level)]
        if self._backend(c) == "pywt":
            coeffs = [coeffs[0].numpy()] + [tuple(b.numpy() for b in d)
                                            for d in coeffs[1:]]
            parts = torch.from_numpy(
                pywt.waverec2(coeffs, self.wavelet, self.mode, axes=(-2, -1)))
        else:
            coeffs = [coeffs[0]] + [WaveletDetailTuple2d(*d) for d in coeffs[1:]]
            parts = ptwt.waverec2(tuple(coeffs), self.wavelet, axes=(-2, -1))
        parts = parts[..., : self.shape[0], : self.shape[1]]
        return torch.complex(parts[0], parts[1])

    def _backend(self, x: torch.Tensor) -> str:
        if self.backend is None:
            return "pywt" if x.device.type == "cpu" else "ptwt"
        return self.backend

    def _torch_forward(self, x: torch.Tensor) -> torch.Tensor:
        B, (H, W) = x.shape[0], self.shape
        rows, columns, _, _ = self._filters_for(x)
        L = rows.shape[-1]
        # Real and imaginary parts of every image, (2 B, 1, H, W).
        a = torch.view_as_real(x).permute(3, 0, 1, 2).reshape(2 * B, 1, H, W)
        details = []
        for h, w in self._sizes[:-1]:
            # Correlation with the reversed filters, stride 2, over the image
            # zero-padded by L - 2 (PyWavelets' "zero" mode output length).
            a = F.conv2d(F.pad(a, (L - 2, L - 2 + w % 2)), rows, stride=(1, 2))
            a = F.pad(a, (0, 0, L - 2, L - 2 + h % 2))
            bands = F.conv2d(a, columns, stride=(2, 1), groups=2)  # (2B, 4, h', w')
            details.append(bands[:, 1:].flatten(1))  # horizontal, vertical, diagonal
            a = bands[:, :1]
        flat = torch.cat([a.flatten(1)] + details[::-1], 1)
        return flat.view(2, B, self.n_coeffs)

    def _torch_inverse(self, c: torch.Tensor) -> torch.Tensor:
        B = c.shape[1]
        _, _, rows, columns = self._filters_for(c)
        c = c.reshape(2 * B, self.n_coeffs)
        h, w = self._bands[0]
        a, start = c[:, : h * w].view(-1, 1, h, w), h * w
        for H, W in self._sizes[-2::-1]:
            h, w = a.shape[-2:]
            d = c[:, start : start + 3 * h * w].view(-1, 3, h, w)
            start += 3 * h * w
            # Bands ordered (approximation, vertical, horizontal, diagonal):
            # pairs sharing the column filter, combined along the rows first.
            bands = torch.cat([a, d[:, 1:2], d[:, :1], d[:, 2:]], 1)
            phases = F.conv2d(F.conv2d(bands, rows, groups=2), columns)
            # (2B, 4, h'', w''): samples (2 i + r, 2 j + s) in channel 2 r + s.
            n, _, hp, wp = phases.shape
            a = phases.view(n, 2, 2, hp, wp).permute(0, 3, 1, 4, 2)
            a = a.reshape(n, 1, 2 * hp, 2 * wp)[..., :H, :W]
        a = a.reshape(2, B, *self.shape)
        return torch.complex(a[0], a[1])

    def _filters_for(self, x: torch.Tensor):
        """Analysis and synthesis convolution weights for x's device and
        real precision: rows (2, 1, 1, L), columns (4, 1, L, 1) (two groups),
        and the polyphase synthesis ones, (4, 2, 1, L/2) and (4, 4, L/2, 1)."""
        dtype = x.real.dtype if x.is_complex() else x.dtype
        key = (x.device, dtype)
        if key not in self._filters:
            self._filters[key] = tuple(
                f.to(x.device, dtype) for f in _conv_filters(self.wavelet))
        return self._filters[key]


def _conv_filters(wavelet: str):
    """Convolution weights of one level of `wavelet` in mode "zero".

    Analysis: y_b[k] = sum_i taps_b[i] x[2 k + i], taps the reversed
    decomposition filters (b: low, high). Its adjoint (= inverse, for an
    orthogonal wavelet) in polyphase form: x[2 t + r] =
    sum_b sum_p taps_b[L - 2 - 2 p + r] y_b[t + p], p < L / 2.
    """
    w = pywt.Wavelet(wavelet)
    taps = torch.tensor([w.dec_lo[::-1], w.dec_hi[::-1]], dtype=torch.float64)
    L = taps.shape[1]
    p = torch.arange(L // 2)
    phase = torch.stack([taps[:, L - 2 - 2 * p + r] for r in (0, 1)])  # (r, b, p)
    rows = taps[:, None, None, :]  # (2, 1, 1, L): low, high along the rows
    columns = taps.repeat(2, 1)[:, None, :, None]  # (4, 1, L, 1), per row band
    # Synthesis along the rows, per column band: (column band, r) from the
    # row bands; then along the columns: (phase s, r) from (column band, r).
    rows_syn = phase.repeat(2, 1, 1)[:, :, None, :]  # (4, 2, 1, L/2)
    columns_syn = torch.zeros(4, 4, L // 2, 1, dtype=torch.float64)
    for s in (0, 1):
        for r in (0, 1):
            for band in (0, 1):
                columns_syn[2 * s + r, 2 * band + r, :, 0] = phase[s, band]
    return rows, columns, rows_syn, columns_syn


def soft_threshold(c: torch.Tensor, threshold) -> torch.Tensor:
    """Complex soft threshold of (2, ...) real/imaginary coefficient pairs:
    each complex value shrinks by `threshold` in magnitude, keeping its phase."""
    tiny = torch.finfo(c.dtype).tiny  # |c|^2 floor: no 0 * inf below
    scale = c[0].square().addcmul_(c[1], c[1]).clamp_(min=tiny).rsqrt_()
    return c * scale.mul_(-threshold).add_(1).clamp_(min=0)
