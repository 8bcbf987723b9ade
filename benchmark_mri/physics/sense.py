"""Cartesian multi-coil forward models: masked coil FFT and SENSE."""

import scipy.fft
import torch

from .fft import checkerboard, fft2c, ifft2c
from .operator import LinearOperator


def _check_mask(mask: torch.Tensor) -> torch.Tensor:
    if mask.ndim != 4:
        raise ValueError(
            f"mask must be 4-D, broadcastable to k-space (B, C, H, W), e.g. "
            f"(B, 1, 1, W) for column masks; got shape {tuple(mask.shape)}."
        )
    return mask.to(torch.float32)


class CoilFourier(LinearOperator):
    """Coil images (B, C, H, W) -> masked centred k-space (B, C, H, W).

    mask: (B, 1, 1, W) or (B, 1, H, W), bool or 0/1.
    """

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", _check_mask(mask))

    def forward(self, x):
        return self.mask * fft2c(x)

    def adjoint(self, y):
        return ifft2c(self.mask * y)


class Sense(LinearOperator):
    """SENSE model: image x (B, H, W) -> k-space y = M F (S x), (B, C, H, W).

    smaps: (B, C, H, W) complex64 coil sensitivities; mask as for CoilFourier.
    The adjoint combines coils with the conjugate maps: sum_c conj(S_c) F^H M y.
    """

    def __init__(self, mask: torch.Tensor, smaps: torch.Tensor):
        super().__init__()
        if smaps.ndim != 4 or not smaps.is_complex():
            raise ValueError(
                "smaps must be complex with shape (B, C, H, W); got "
                f"{tuple(smaps.shape)} {smaps.dtype}."
            )
        self.register_buffer("mask", _check_mask(mask))
        self.register_buffer("smaps", smaps)
        # The mask repeated over a trailing axis of 2, for the real view of
        # complex k-space: a real product, several times faster than a real
        # mask times complex data.
        self.register_buffer("mask_pairs", self.mask[..., None].repeat(
            *[1] * self.mask.ndim, 2), persistent=False)

    def forward(self, x):
        return self.mask * fft2c(self.smaps * x[:, None])

    def adjoint(self, y):
        return torch.sum(self.smaps.conj() * ifft2c(self.mask * y), dim=1)

    def normal(self, x):
        """A^H A x without FFT shifts, and with 1D FFTs for column masks.

        For an even size the centred FFT is D F D with D the (+-1)
        checkerboard (a shift by half the size is a modulation by (-1)^n),
        and D M D = M, so F_c^H M F_c = D F^H M F D. A column mask
        (B, 1, 1, W) does not depend on the row, and the row FFT is unitary:
        F^H M F reduces to 1D FFTs along W. Same value as
        adjoint(forward(x)) at about a quarter of its FFT work; the
        inner loop of iterative solvers. Falls back to it for odd sizes.
        """
        H, W = x.shape[-2:]
        columns = self.mask.shape[-2] == 1
        if W % 2 or (H % 2 and not columns):
            return super().normal(x)
        if columns:  # 1D along W: sign (W,), FFT over the last axis
            sign, dims = checkerboard(1, W, x.device)[0], (-1,)
        else:
            sign, dims = checkerboard(H, W, x.device), (-2, -1)
        if x.device.type == "cpu" and not _differentiated(x, self.smaps):
            return self._normal_in_place(x, sign, dims)
        coils = torch.fft.fftn(self.smaps * (sign * x)[:, None], dim=dims,
                               norm="ortho")
        coils = torch.fft.ifftn(self.mask * coils, dim=dims, norm="ortho")
        return sign * torch.linalg.vecdot(self.smaps, coils, dim=1)

    def _normal_in_place(self, x, sign, dims):
        """normal(x) on the CPU with one fresh (B, C, H, W) buffer, every
        step in place in it (scipy.fft's FFTs overwrite their input; torch's
        allocate their output, and so does the coil sum's product). Fresh
        megabytes cost page faults when the allocator has returned them to
        the system, which glibc does between an iterative solver's steps:
        they cost as much as the FFTs themselves (docs/classical-checks.md)."""
        coils = torch.mul(self.smaps, (sign * x)[:, None])
        axes = tuple(range(coils.ndim))[dims[0]:]
        _transform_in_place(scipy.fft.fftn, coils.numpy(), axes)
        torch.view_as_real(coils).mul_(self.mask_pairs)
        _transform_in_place(scipy.fft.ifftn, coils.numpy(), axes)
        # sum_c conj(S_c) u_c = conj(sum_c S_c conj(u_c)), in place.
        coils.conj_physical_().mul_(self.smaps)
        return coils.sum(1).conj_physical_().mul_(sign)


def _transform_in_place(transform, array, axes):
    """A scipy.fft transform (orthonormal) of `array` written into it:
    scipy writes into its input when allowed and able (contiguous complex
    data), else the result is copied back."""
    out = transform(array, axes=axes, norm="ortho", overwrite_x=True,
                    workers=torch.get_num_threads())
    if out.ctypes.data != array.ctypes.data:
        array[...] = out


def _differentiated(*tensors) -> bool:
    """True when autograd records operations on any of `tensors`."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
