"""GRAPPA for arbitrary Cartesian sampling, vectorised.

Griswold et al., "Generalized autocalibrating partially parallel acquisitions
(GRAPPA)", MRM 47(6), 2002. The geometry follows pygrappa's `mdgrappa`
(multidimensional GRAPPA), so that both give the same images:

- the kernel is a (kh, kw) window of k-space centred on the missing sample
  (odd sizes), over all coils; k-space is zero-padded by (kh // 2, kw // 2);
- every missing sample is filled from the *sampled* points of its window,
  so a sampling pattern with irregular gaps (fastMRI's random or equispaced
  masks, whose spacing is not an integer) gets one set of weights per
  distinct neighbourhood pattern; a missing sample whose window holds no
  sampled point cannot be filled and stays zero (as in pygrappa);
- weights are calibrated on every (kh, kw) window of the zero-padded
  autocalibration (ACS) block, by Tikhonov-regularised least squares
  (S^H S + lambda0 I) W = S^H T with lambda0 = lmbda * ||S^H S||_F / n_src,
  n_src = number of source samples (points x coils), pygrappa's scaling.

Vectorised: one Gram matrix of the calibration windows per slice (accumulated
in complex64: images ~1e-5 from pygrappa's complex128 ones) gives the normal
equations of every pattern as a sub-block of it, solved in complex128 with one
batched call per number of source points; each pattern's missing samples are
gathered at once and filled with one matrix product. Python loops run over
slices, patterns and kernel offsets, never over k-space points.
"""

import torch
from scipy.linalg.blas import cherk

from ..data import Measurement, center_crop
from ..physics import acs_bounds, ifft2c, rss


def _kernel(kernel_size) -> tuple[int, int]:
    """An int (square kernel) or (rows, columns) -> (rows, columns), both odd."""
    size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    kh, kw = (int(k) for k in size)
    if not (kh > 0 and kw > 0 and kh % 2 == 1 and kw % 2 == 1):
        raise ValueError(
            f"GRAPPA kernel_size must be two odd positive sizes (rows, columns); "
            f"got {kernel_size!r}."
        )
    return kh, kw


def _check(y, sampled, lmbda):
    if not lmbda >= 0:
        raise ValueError(
            f"GRAPPA lmbda (Tikhonov regularisation) must be >= 0; got {lmbda}."
        )
    if not torch.isfinite(torch.view_as_real(y)).all():
        raise ValueError(
            "GRAPPA: the k-space contains NaN or inf values; check the data."
        )
    if y.shape[-2:] != sampled.shape[-2:]:
        raise ValueError(
            f"GRAPPA: mask {tuple(sampled.shape)} does not match k-space "
            f"{tuple(y.shape)}."
        )


def _windows(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """All (kh, kw) windows of the last two axes of x zero-padded by half the
    kernel: (..., H, W) -> (..., H, W, kh, kw), a view of the padded copy."""
    x = torch.nn.functional.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2))
    return x.unfold(-2, kh, 1).unfold(-2, kw, 1)


def _as_words(x: torch.Tensor) -> torch.Tensor:
    """complex64 (..., C) -> float64 (..., C), the same bytes."""
    return x.view(torch.float64) if x.dtype == torch.complex64 else x


def _from_words(x: torch.Tensor) -> torch.Tensor:
    return x.view(torch.complex64) if x.dtype == torch.float64 else x


def _patterns(sampled: torch.Tensor, kh: int, kw: int):
    """Sampling pattern of the window around every missing sample.

    sampled: (H, W) bool. Returns (rows, cols) of the N missing samples,
    `patterns` (P, kh * kw) bool, the distinct window patterns (outside k-space
    counts as not sampled), and `which` (N,) the pattern index of each sample.
    """
    rows, cols = (~sampled).nonzero(as_tuple=True)
    H, W = sampled.shape
    if kh * kw <= 62:  # one int64 code per window: a sum of shifted bit images
        pads = (kw // 2, kw // 2, kh // 2, kh // 2)
        padded = torch.nn.functional.pad(sampled.long(), pads)
        codes = torch.zeros_like(sampled, dtype=torch.long)
        for j in range(kh * kw):
            dy, dx = divmod(j, kw)
            codes += padded[dy : dy + H, dx : dx + W] << j
        codes, which = torch.unique(codes[rows, cols], return_inverse=True)
        bits = 2 ** torch.arange(kh * kw, device=sampled.device)
        patterns = (codes[:, None] & bits) > 0
    else:
        windows = _windows(sampled, kh, kw)[rows, cols].reshape(rows.numel(), -1)
        patterns, which = torch.unique(windows, dim=0, return_inverse=True)
    return rows, cols, patterns, which


def _gram(a: torch.Tensor) -> torch.Tensor:
    """a^H a for a (M, N) complex64: BLAS herk (half the flops of a matrix
    product) on the CPU, a matrix product elsewhere."""
    if a.device.type != "cpu" or a.dtype != torch.complex64:
        return a.conj().T @ a
    upper = cherk(1.0, a.numpy(), trans=2, lower=0)  # (N, N), upper triangle
    upper = torch.from_numpy(upper)
    return upper + upper.triu(1).conj().T


def grappa_weights(calib: torch.Tensor, patterns: torch.Tensor, kernel_size,
                   lmbda: float) -> list[torch.Tensor]:
    """Kernel weights for each sampling pattern, from the ACS block.

    calib: (C, H, n_acs) complex, the fully sampled calibration block.
    patterns: (P, kh * kw) bool, True at the sampled points of each window
        (the centre, the missing target, is False).
    Returns one (n_p * C, C) complex128 tensor per pattern, n_p its number of
    sampled points: target coils = sources (point-major: j * C + c) @ W_p.
    A pattern with no sampled point gets an empty (0, C) tensor.
    """
    kh, kw = kernel_size
    n_coils, k = calib.shape[0], kh * kw
    # Calibration windows (C, H, n_acs, kh, kw) -> rows (M, k * C), point-major.
    a = _windows(calib, kh, kw).permute(1, 2, 3, 4, 0).reshape(-1, k * n_coils)
    # (k C, k C): every pattern's S^H S is a block of it. Accumulated in
    # complex64 (1e-5 from pygrappa's complex128 images), solved in complex128.
    gram = _gram(a).to(torch.complex128)
    coil = torch.arange(n_coils, device=calib.device)
    targets = ((kh // 2) * kw + kw // 2) * n_coils + coil
    n_points = patterns.sum(1)
    weights = [None] * patterns.shape[0]
    # One batched solve per group of patterns with the same number of sources.
    for n in n_points.unique().tolist():
        group = (n_points == n).nonzero(as_tuple=True)[0]
        if n == 0:
            for p in group.tolist():
                weights[p] = gram.new_zeros(0, n_coils)
            continue
        points = patterns[group].nonzero(as_tuple=True)[1].reshape(-1, n)
        src = (points[:, :, None] * n_coils + coil).reshape(len(group), -1)
        lhs = gram[src[:, :, None], src[:, None, :]]  # (G, n C, n C)
        rhs = gram[src[:, :, None], targets[None, None, :]]  # (G, n C, C)
        lam = lmbda * torch.linalg.matrix_norm(lhs) / src.shape[1]
        eye = torch.eye(src.shape[1], dtype=lhs.dtype, device=lhs.device)
        solved = torch.linalg.solve(lhs + lam[:, None, None] * eye, rhs)
        for i, p in enumerate(group.tolist()):
            weights[p] = solved[i]
    return weights


def grappa_fill(y: torch.Tensor, sampled: torch.Tensor,
                kernel_size=(5, 5), lmbda: float = 0.01) -> torch.Tensor:
    """Fill the missing samples of one slice's k-space.

    y: (C, H, W) complex64 centred k-space, zero where not sampled.
    sampled: (H, W) bool, True where y was measured (a fully sampled centre
        block of columns is the ACS, found with physics.acs_bounds).
    kernel_size: (rows, columns) or an int (square), odd.
    lmbda: Tikhonov constant (>= 0), scaled as pygrappa does (module docstring).
    Returns (C, H, W) complex k-space, measured samples unchanged; missing
    samples whose window holds no sampled point stay zero.
    """
    _check(y, sampled, lmbda)
    kh, kw = kernel_size = _kernel(kernel_size)
    n_coils, H, W = y.shape
    start, stop = acs_bounds(sampled.all(0).cpu())
    if stop - start < kw or H < kh:
        raise ValueError(
            f"GRAPPA kernel_size {kernel_size} is larger than the "
            f"autocalibration block ({H} x {stop - start} samples): "
            "use a smaller kernel or a larger center_fraction."
        )
    rows, cols, patterns, which = _patterns(sampled, kh, kw)
    weights = grappa_weights(y[..., start:stop], patterns, kernel_size, lmbda)

    # k-space as (positions, coils), zero-padded: a window's sources are rows.
    width = W + kw - 1
    padded = torch.nn.functional.pad(y, (kw // 2, kw // 2, kh // 2, kh // 2))
    # (Hp Wp, C) complex64 seen as float64 pairs: fewer, wider row gathers.
    padded = _as_words(padded.reshape(n_coils, -1).T.contiguous())
    offsets = (torch.arange(kh, device=y.device)[:, None] * width
               + torch.arange(kw, device=y.device)[None, :]).reshape(-1)
    corner = rows * width + cols  # window's top-left corner in padded k-space
    order = torch.argsort(which)
    counts = torch.bincount(which, minlength=patterns.shape[0]).tolist()
    out = y.reshape(n_coils, -1).T.clone()  # (H W, C)
    for p, members in enumerate(torch.split(order, counts)):
        if weights[p].shape[0] == 0 or members.numel() == 0:
            continue
        index = corner[members, None] + offsets[patterns[p]][None, :]
        sources = _from_words(padded.index_select(0, index.reshape(-1)))
        filled = sources.reshape(members.numel(), -1) @ weights[p].to(y.dtype)
        out.index_copy_(0, rows[members] * W + cols[members], filled)
    return out.T.reshape(n_coils, H, W)


def check_grappa_inputs(m: Measurement, kernel_size=(5, 5), lmbda: float = 0.01):
    """Raise ValueError, saying what to change, if GRAPPA cannot run on `m`:
    no autocalibration block, a kernel larger than it, lmbda < 0, non-finite
    k-space (the checks grappa_fill does, without the reconstruction)."""
    if not m.is_cartesian:
        raise ValueError(
            f"GRAPPA needs Cartesian k-space; {m.name!r} is sampled along a "
            "non-Cartesian trajectory (use ista_l1 or a learned solver)."
        )
    kh, kw = _kernel(kernel_size)
    for s in range(m.y.shape[0]):
        start, stop = acs_bounds(m.mask[s].reshape(-1).cpu())
        if stop - start < kw or m.y.shape[-2] < kh:
            raise ValueError(
                f"GRAPPA kernel_size {(kh, kw)} is larger than the "
                f"autocalibration block of {m.name!r} slice {s} "
                f"({m.y.shape[-2]} x {stop - start} samples): use a smaller "
                "kernel or a larger center_fraction."
            )
    if not lmbda >= 0:
        raise ValueError(
            f"GRAPPA lmbda (Tikhonov regularisation) must be >= 0; got {lmbda}."
        )
    if not torch.isfinite(torch.view_as_real(m.y)).all():
        raise ValueError(f"GRAPPA: the k-space of {m.name!r} contains NaN or inf.")


def grappa(m: Measurement, kernel_size=(5, 5), lmbda: float = 0.01) -> torch.Tensor:
    """GRAPPA reconstruction of a volume: RSS of the filled coil images,
    centre-cropped to the target size, (S, h, w) float32."""
    S, _, H, W = m.y.shape
    sampled = m.mask.expand(S, 1, H, W)[:, 0].bool()
    kspace = torch.stack([
        grappa_fill(m.y[s], sampled[s], kernel_size, lmbda) for s in range(S)
    ])
    return center_crop(rss(ifft2c(kspace)), m.target_size)
