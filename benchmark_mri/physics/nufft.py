"""Multi-coil non-uniform FFT (NUFFT) operators, built on pynufft's plan.

Convention (pynufft's, and DESIGN.md's): a trajectory `traj` is (K, 2) float
in radians, in [-pi, pi); column 0 is the frequency along the image's first
axis (H, rows), column 1 along its second axis (W, columns). For an image x of
shape (H, W) with its centre at (H // 2, W // 2), the forward model is

    y[m] = 1 / sqrt(H W) * sum_{h, w} x[h, w] exp(-i (traj[m, 0] (h - H // 2)
                                                    + traj[m, 1] (w - W // 2)))

so that on the Cartesian grid traj = 2 pi (j - N // 2) / N it equals the
centred orthonormal FFT `fft2c` of the Cartesian operators (same scale, same
noise level), and the adjoint is the true adjoint (no 1 / prod(grid) factor
as in pynufft's own `adjoint`).

How it is computed: pynufft plans the min-max Kaiser-Bessel interpolator once
per trajectory (scaling factors `sn`, and a sparse (K, G) interpolation matrix
from the oversampled grid of G = prod(grid) points); the operators here
apply it in torch: scale, zero-padded FFT, then a sparse CSR matrix product
batched over all slices and coils at once (one SpMM, the coils as columns).
Everything is torch, so the operators follow `.to(device)` (torch's CSR
product runs on CUDA); autograd goes through `_Nufft`, whose backward is the
adjoint (no intermediate is stored). Gradients with respect to the
trajectory are not provided.
"""

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch

from .operator import LinearOperator

DEFAULT_OVERSAMPLING = 2  # oversampled grid / image size, per axis
DEFAULT_WIDTH = 6  # interpolation kernel width, per axis: ~5e-6 relative error
_PLAN_CACHE_SIZE = 8
_CSR = ("crow", "col", "val")
_plan_cache: "OrderedDict[tuple, NufftPlan]" = OrderedDict()


def check_traj(traj) -> np.ndarray:
    """`traj` as a (K, 2) float64 array; ValueError naming what is wrong."""
    traj = np.asarray(traj.cpu() if isinstance(traj, torch.Tensor) else traj)
    if traj.ndim != 2 or traj.shape[1] != 2 or traj.shape[0] < 1:
        raise ValueError(
            f"traj must have shape (n_samples, 2) (got {traj.shape}): one row "
            "per k-space sample, (k_H, k_W) in radians."
        )
    if not np.isfinite(traj).all():
        raise ValueError("traj contains NaN or inf values.")
    if traj.min() < -np.pi - 1e-4 or traj.max() > np.pi + 1e-4:
        raise ValueError(
            f"traj must be in radians in [-pi, pi) (got values in "
            f"[{traj.min():.4g}, {traj.max():.4g}]); a trajectory in cycles "
            "per pixel ([-0.5, 0.5)) must be multiplied by 2 pi."
        )
    return traj.astype(np.float64)


@dataclass(frozen=True, eq=False)
class NufftPlan:
    """What pynufft precomputes for one trajectory and image shape.

    traj: (K, 2) float64 radians; order: (K,) int64, the samples sorted by
    8 x 8 tiles of the grid (for memory locality); shape: (H, W) image; grid:
    (KH, KW) oversampled grid; scaling: (H, W) float32, pynufft's `sn` /
    sqrt(H W); interp: scipy CSR (K, KH * KW) complex64, the interpolation
    matrix from the (uncentred, unnormalised) FFT of the zero-padded scaled
    image, whose corner [:H, :W] holds the image, to the samples traj[order];
    gridding: its conjugate transpose (KH * KW, K), also CSR (int32 indices).
    """

    traj: np.ndarray
    order: np.ndarray
    shape: tuple[int, int]
    grid: tuple[int, int]
    scaling: np.ndarray
    interp: object
    gridding: object


def plan_nufft(
    traj, shape, oversampling: float = DEFAULT_OVERSAMPLING,
    width: int = DEFAULT_WIDTH,
) -> NufftPlan:
    """pynufft's plan for `traj` (K, 2) radians and image `shape` (H, W).

    Plans are cached in memory (the last few, keyed by the trajectory's bytes
    and the parameters), so building several operators on one trajectory
    plans once.
    """
    traj = check_traj(traj)
    H, W = (int(n) for n in shape)
    if H < 2 or W < 2:
        raise ValueError(f"shape must be (H, W) with H, W >= 2 (got {shape}).")
    if oversampling < 1.25:
        raise ValueError(f"oversampling must be >= 1.25 (got {oversampling}).")
    if not 2 <= width <= 12:
        raise ValueError(f"width must be an integer in [2, 12] (got {width}).")
    grid = (int(np.ceil(oversampling * H)), int(np.ceil(oversampling * W)))
    key = (hashlib.sha1(traj.tobytes()).hexdigest(), traj.shape, (H, W), grid, width)
    if key in _plan_cache:
        _plan_cache.move_to_end(key)
        return _plan_cache[key]
    import pynufft  # heavy import: only when planning

    nufft = pynufft.NUFFT()
    nufft.plan(traj, (H, W), grid, (width, width))
    # pynufft centres the image at N / 2, this module at N // 2: for odd
    # sizes, a phase per sample moves the centre by half a pixel.
    shift = np.array([H / 2 - H // 2, W / 2 - W // 2])
    phase = scipy.sparse.diags(np.exp(-1j * traj @ shift))
    interp = (phase @ nufft.sp).astype(np.complex64).tocsr()
    order = _tile_order(traj, grid)
    interp = interp[order]
    plan = NufftPlan(
        traj=traj,
        order=order,
        shape=(H, W),
        grid=grid,
        scaling=(nufft.sn.real / np.sqrt(H * W)).astype(np.float32),
        interp=_int32_csr(interp),
        gridding=_int32_csr(interp.conj().T.tocsr()),
    )
    _plan_cache[key] = plan
    if len(_plan_cache) > _PLAN_CACHE_SIZE:
        _plan_cache.popitem(last=False)
    return plan


def _tile_order(traj: np.ndarray, grid) -> np.ndarray:
    """Sample order by 8 x 8 tiles of the grid, then row-major inside a tile:
    neighbouring samples then read neighbouring grid values (faster sparse
    products than a radial or spiral readout order; docs/non-cartesian.md)."""
    cell = np.floor((traj + np.pi) / (2 * np.pi) * np.asarray(grid)).astype(np.int64)
    h, w = cell[:, 0], cell[:, 1]
    return np.lexsort((w % 8, h % 8, w // 8, h // 8))


def _int32_csr(matrix):
    """CSR with int32 indices (smaller, and faster products)."""
    if matrix.nnz >= np.iinfo(np.int32).max:
        raise ValueError(
            f"The NUFFT interpolation matrix has {matrix.nnz} entries, more "
            "than int32 indices hold: split the trajectory."
        )
    matrix.indptr = matrix.indptr.astype(np.int32)
    matrix.indices = matrix.indices.astype(np.int32)
    return matrix


def _csr_buffers(matrix, prefix: str) -> dict:
    """Torch views (no copy) of a CSR matrix's arrays."""
    return {
        f"{prefix}_crow": torch.from_numpy(matrix.indptr),
        f"{prefix}_col": torch.from_numpy(matrix.indices),
        f"{prefix}_val": torch.from_numpy(matrix.data),
    }


class _Nufft(torch.autograd.Function):
    """Coil images (N, H, W) -> samples (N, K) through `core`; the backward
    of each direction is the other direction (the operator is linear)."""

    @staticmethod
    def forward(ctx, x, core, adjoint):
        ctx.core, ctx.adjoint = core, adjoint
        return core._adjoint(x) if adjoint else core._forward(x)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        core = ctx.core
        return (core._forward(grad) if ctx.adjoint else core._adjoint(grad)), None, None


class CoilNufft(LinearOperator):
    """Coil images (B, C, H, W) complex64 -> k-space samples (B, C, K).

    traj: (K, 2) radians in [-pi, pi) (shared by every slice and coil);
    shape: (H, W); oversampling, width: pynufft's grid and kernel size.
    The adjoint maps (B, C, K) -> (B, C, H, W). Any leading batch shape works
    (..., H, W) -> (..., K).
    """

    def __init__(self, traj, shape, oversampling=DEFAULT_OVERSAMPLING,
                 width=DEFAULT_WIDTH):
        super().__init__()
        plan = plan_nufft(traj, shape, oversampling, width)
        self.shape, self.grid = plan.shape, plan.grid
        self.n_samples = plan.traj.shape[0]
        self.register_buffer("traj", torch.from_numpy(plan.traj.astype(np.float32)))
        # Derived from traj (the plan), so not persistent: a state_dict (a
        # learned model's checkpoint) does not carry the (large) matrices.
        buffers = dict(
            scaling=torch.from_numpy(plan.scaling),
            order=torch.from_numpy(plan.order),
            unorder=torch.from_numpy(np.argsort(plan.order)),
            **_csr_buffers(plan.interp, "interp"),
            **_csr_buffers(plan.gridding, "grid"),
        )
        for name, tensor in buffers.items():
            self.register_buffer(name, tensor, persistent=False)

    def _spmm(self, prefix, shape, dense):
        """The CSR matrix `prefix` (shape) times dense (shape[1], N): scipy's
        product on the CPU (faster there than torch's; docs/non-cartesian.md),
        torch's sparse CSR product elsewhere (CUDA)."""
        crow, col, val = (getattr(self, f"{prefix}_{part}") for part in _CSR)
        if dense.device.type == "cpu":
            matrix = scipy.sparse.csr_matrix(
                (val.numpy(), col.numpy(), crow.numpy()), shape=shape, copy=False
            )
            return torch.from_numpy(matrix @ dense.detach().numpy())
        with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            matrix = torch.sparse_csr_tensor(
                crow, col, val, size=shape, check_invariants=False
            )
        return matrix @ dense

    def _forward(self, x):  # (N, H, W) -> (N, K)
        n = x.shape[0]
        if x.device.type == "meta":  # sparse kernels have no meta version
            return x.new_empty(n, self.n_samples)
        KH, KW = self.grid
        k = torch.fft.fft2(x * self.scaling, s=(KH, KW))  # (N, KH, KW)
        k = k.reshape(n, KH * KW).T.contiguous()  # (G, N): coils as columns
        y = self._spmm("interp", (self.n_samples, KH * KW), k)  # (K, N), sorted
        return y.T[:, self.unorder].contiguous()  # (N, K), traj's order

    def _adjoint(self, y):  # (N, K) -> (N, H, W)
        n = y.shape[0]
        H, W = self.shape
        if y.device.type == "meta":
            return y.new_empty(n, H, W)
        KH, KW = self.grid
        y = y[:, self.order].T.contiguous()  # (K, N), sorted
        k = self._spmm("grid", (KH * KW, self.n_samples), y)  # (G, N)
        k = k.T.reshape(n, KH, KW)  # (N, KH, KW)
        # Unnormalised inverse FFT, pruned: only the image's rows and columns.
        x = torch.fft.ifft(k, dim=-2, norm="forward")[:, :H]
        x = torch.fft.ifft(x, dim=-1, norm="forward")[..., :W]
        return x * self.scaling

    def _check(self, t, last, what):
        if t.shape[-len(last):] != last or not t.is_complex():
            raise ValueError(
                f"{type(self).__name__}.{what} expects complex (..., "
                f"{', '.join(map(str, last))}); got {tuple(t.shape)} {t.dtype}."
            )

    def forward(self, x):
        self._check(x, self.shape, "forward")
        lead = x.shape[:-2]
        y = _Nufft.apply(x.reshape(-1, *self.shape), self, False)
        return y.reshape(*lead, self.n_samples)

    def adjoint(self, y):
        self._check(y, (self.n_samples,), "adjoint")
        lead = y.shape[:-1]
        x = _Nufft.apply(y.reshape(-1, self.n_samples), self, True)
        return x.reshape(*lead, *self.shape)


class NufftSense(LinearOperator):
    """Non-Cartesian SENSE: image x (B, H, W) -> samples y = F_traj (S x),
    (B, C, K).

    traj: (K, 2) radians in [-pi, pi), the same for every slice;
    smaps: (B, C, H, W) complex64 coil sensitivities. The adjoint combines
    coils with the conjugate maps: sum_c conj(S_c) F_traj^H y_c.
    """

    def __init__(self, traj, smaps, oversampling=DEFAULT_OVERSAMPLING,
                 width=DEFAULT_WIDTH):
        super().__init__()
        if smaps.ndim != 4 or not smaps.is_complex():
            raise ValueError(
                "smaps must be complex with shape (B, C, H, W); got "
                f"{tuple(smaps.shape)} {smaps.dtype}."
            )
        self.nufft = CoilNufft(traj, smaps.shape[-2:], oversampling, width)
        self.register_buffer("smaps", smaps)

    @property
    def traj(self):
        return self.nufft.traj

    def forward(self, x):
        return self.nufft(self.smaps * x[:, None])

    def adjoint(self, y):
        return torch.sum(self.smaps.conj() * self.nufft.adjoint(y), dim=1)
