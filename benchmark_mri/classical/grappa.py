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

Vectorised: the normal equations of every pattern are sub-blocks of one Gram
matrix of the calibration windows, sum_w w^H w (kh kw C square). Its entries
are lagged sums of calibration products, the same for every pair of window
points the same lag apart except at the block's edges (calibration_gram):
2 (kh // 2) + 1 small matrix products, one per row lag, in complex128 (images
~1e-7 from pygrappa's), instead of the windows' full product. Each pattern's
normal equations are solved in complex128 with one batched call per number of
source points; the missing samples are gathered with one index per pattern
and filled with one matrix product (all target coils at once). Python loops
run over slices, patterns and kernel rows, never over k-space points.
"""

import scipy.fft
import torch

from ..data import Measurement, center_crop
from ..physics import acs_bounds, checkerboard, ifft2c


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
    if not _finite(y):
        raise ValueError(
            "GRAPPA: the k-space contains NaN or inf values; check the data."
        )
    if y.shape[-2:] != sampled.shape[-2:]:
        raise ValueError(
            f"GRAPPA: mask {tuple(sampled.shape)} does not match k-space "
            f"{tuple(y.shape)}."
        )


def _finite(y: torch.Tensor) -> bool:
    """True if no value of y is NaN or inf: their sum propagates both, and a
    float64 sum of float32 values cannot overflow (no temporary copy)."""
    return bool(torch.isfinite(torch.view_as_real(y).sum(dtype=torch.float64)))


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
    grouped by pattern, `patterns` (P, kh * kw) bool, the distinct window
    patterns (outside k-space counts as not sampled), and `counts`, a list of
    P ints: the first counts[0] samples have pattern 0, and so on.
    """
    rows, cols = (~sampled).nonzero(as_tuple=True)
    H, W = sampled.shape
    if kh * kw <= 62:  # one integer code per window, bit j for point j
        pads = (kw // 2, kw // 2, kh // 2, kh // 2)
        bits_type = torch.int32 if kh * kw <= 31 else torch.int64
        padded = torch.nn.functional.pad(sampled.to(bits_type), pads)
        # The kw bits of each window row, then kh rows kw bits apart.
        row_codes = sum(padded[:, dx : dx + W] << dx for dx in range(kw))
        codes = sum(row_codes[dy : dy + H] << (dy * kw) for dy in range(kh))
        codes, order = codes[rows, cols].sort()
        codes, counts = torch.unique_consecutive(codes, return_counts=True)
        bits = 2 ** torch.arange(kh * kw, device=sampled.device, dtype=bits_type)
        patterns = (codes[:, None] & bits) > 0
    else:
        windows = _windows(sampled, kh, kw)[rows, cols].reshape(rows.numel(), -1)
        patterns, which, counts = torch.unique(
            windows, dim=0, return_inverse=True, return_counts=True)
        order = torch.argsort(which)
    return rows[order], cols[order], patterns, counts.tolist()


def calibration_gram(calib: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Gram matrix of the calibration windows, sum over windows of w^H w.

    calib: (C, Hc, n) complex, the fully sampled calibration block. The
    windows are the (kh, kw) neighbourhoods of every calibration sample, the
    block zero-padded; a window is a vector of its kh kw C values, point-major
    (point j = row * kw + column, then coil). Returns (kh kw C, kh kw C), in
    calib's precision.

    The entry of window points o1 and o2 = o1 + (d, dx) sums
    conj(calib(u, v)) calib(u + d, v + dx) over the samples (u, v) that point
    o1 reads in the windows: all but at most kh // 2 rows and kw // 2 columns
    at the block's edges, where the padding cuts windows. So every entry is
    one of (2 kh - 1) (2 kw - 1) lagged sums over the whole block (one matrix
    product per row lag d) minus a few edge columns, then edge rows: a
    fraction of the work of the windows' own product.
    """
    C, Hc, n = calib.shape
    ry, rx, K = kh // 2, kw // 2, kw * C
    nx, dev = 2 * kw - 1, calib.device  # column lags dx = -(kw - 1) .. kw - 1
    # rows[u, v] = calib(u, v), (Hc, n, C); shifted[u, v] = calib(u, v + dx)
    # for every column lag, (Hc, n, nx C); segments[u, v] = the (kw, C)
    # window row of calibration row u around column v.
    rows = calib.permute(1, 2, 0).contiguous()
    shifted = torch.nn.functional.pad(calib, (kw - 1, kw - 1)).unfold(-1, nx, 1)
    shifted = shifted.permute(1, 2, 3, 0).reshape(Hc, n, nx * C)
    segments = torch.nn.functional.pad(calib, (rx, rx)).unfold(-1, kw, 1)
    segments = segments.permute(1, 2, 3, 0)  # (Hc, n, kw, C)
    ox = torch.arange(-rx, rx + 1, device=dev)
    x_edges = _edges(n, rx, dev)
    # (kw, edges): 1 at the edge columns that window column ox misses.
    x_cut = _cuts(ox, ox, n, x_edges).to(calib.dtype)
    dx_of = ox[None, :] - ox[:, None] + kw - 1  # (kw, kw) lag index
    # The edge columns alone, column-major: (edges, C, Hc), (edges, Hc, nx C).
    edge_rows = rows[:, x_edges].permute(1, 2, 0).contiguous()
    edge_shifted = shifted[:, x_edges].transpose(0, 1).contiguous()
    gram = calib.new_zeros(kh, K, kh, K)
    blocks_of = gram.permute(0, 2, 1, 3)  # (kh, kh, K, K) view: block (oy1, oy2)
    for d in range(min(2 * ry, Hc - 1) + 1):
        a, b = rows[: Hc - d], shifted[d:]  # calibration rows u and u + d
        total = a.reshape(-1, C).mH @ b.reshape(-1, nx * C)  # (C, nx C)
        edge = torch.bmm(edge_rows[..., : Hc - d].conj(),
                         edge_shifted[:, d:])  # (edges, C, nx C)
        sums = total - (x_cut @ edge.flatten(1)).view(kw, C, nx * C)
        sums = sums.view(kw, C, nx, C)[ox[:, None] + rx, :, dx_of]  # (ox1, ox2, C, C)
        lag = sums.permute(0, 2, 1, 3).reshape(K, K)  # rows u in [0, Hc - d)
        # Window rows oy and oy + d, over windows centred on every row.
        oy = torch.arange(-ry, ry + 1 - d, device=dev)
        y_edges = _edges(Hc - d, ry, dev)
        per_row = torch.bmm(segments[y_edges].reshape(-1, n, K).mH,
                            segments[y_edges + d].reshape(-1, n, K))
        y_cut = _cuts(oy, oy + d, Hc - d, y_edges).to(lag.dtype)
        blocks = lag - (y_cut @ per_row.flatten(1)).view(-1, K, K)  # (kh - d, K, K)
        blocks_of.diagonal(d).copy_(blocks.permute(1, 2, 0))
        blocks_of.diagonal(-d).copy_(blocks.mH.permute(1, 2, 0))
    return gram.reshape(kh * K, kh * K)


def _edges(length: int, radius: int, device) -> torch.Tensor:
    """The first and last `radius` indices of range(length), each once."""
    head = min(radius, length)
    tail = max(length - radius, head)
    return torch.cat([torch.arange(head), torch.arange(tail, length)]).to(device)


def _cuts(first, last, length, edges) -> torch.Tensor:
    """(O, E) bool: edge index e is outside the range [max(0, first),
    length + min(0, last)) that offset o reads. (A range can be empty only
    when the edges are the whole length: then o misses all of them.)"""
    start, stop = first.clamp(min=0), length + last.clamp(max=0)
    return (edges[None, :] < start[:, None]) | (edges[None, :] >= stop[:, None])


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
    n_coils = calib.shape[0]
    # (kh kw C, kh kw C) in complex128 (images 1e-7 from pygrappa's; 1e-5
    # in complex64): every pattern's S^H S is a block of it.
    gram = calibration_gram(calib.to(torch.complex128), kh, kw)
    coil = torch.arange(n_coils, device=calib.device)
    targets = ((kh // 2) * kw + kw // 2) * n_coils + coil
    n_points = patterns.sum(1)
    # pygrappa's lambda0 = lmbda ||S^H S||_F / (n C) of every pattern, from the
    # energy of each (point, point) block of the Gram.
    energy = torch.view_as_real(gram).square().view(
        kh * kw, n_coils, kh * kw, n_coils * 2).sum((1, 3))
    mask = patterns.to(energy.dtype)
    frobenius = ((mask @ energy) * mask).sum(1).sqrt()
    lams = lmbda * frobenius / (n_points * n_coils).clamp(min=1)
    weights = [gram.new_zeros(0, n_coils)] * patterns.shape[0]
    # One batched solve per group of patterns with the same number of sources.
    for n in n_points.unique().tolist():
        if n == 0:  # no source: the sample stays zero
            continue
        group = (n_points == n).nonzero(as_tuple=True)[0]
        points = patterns[group].nonzero(as_tuple=True)[1].reshape(-1, n)
        src = (points[:, :, None] * n_coils + coil).reshape(len(group), -1)
        lhs = gram[src[:, :, None], src[:, None, :]]  # (G, n C, n C)
        rhs = gram[src[:, :, None], targets]  # (G, n C, C)
        lhs.diagonal(dim1=-2, dim2=-1).add_(lams[group, None])
        # Hermitian positive definite for lmbda > 0: Cholesky (half an LU's
        # work); LU, as pygrappa, if it is singular (lmbda = 0).
        factor, info = torch.linalg.cholesky_ex(lhs)
        solved = (torch.linalg.solve(lhs, rhs) if info.any()
                  else torch.cholesky_solve(rhs, factor))
        for p, w in zip(group.tolist(), solved):
            weights[p] = w
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
    rows, cols, patterns, counts = _patterns(sampled, kh, kw)
    weights = grappa_weights(y[..., start:stop], patterns, kernel_size, lmbda)
    filled = _fill(y, (kh, kw), rows, cols, patterns, counts, weights)
    return filled.permute(2, 0, 1)


def _fill(y, kernel_size, rows, cols, patterns, counts, weights) -> torch.Tensor:
    """grappa_fill's application of the weights: (C, H, W) k-space y ->
    (H, W, C) filled k-space, a view of a zero-padded (positions, coils) copy.

    In that layout a window's sources are rows of one matrix, gathered with
    one index per pattern; the missing samples are written into the copy
    itself (they are never a source: sources are sampled points).
    """
    n_coils, H, W = y.shape
    kh, kw = kernel_size
    Hp, Wp = H + kh - 1, W + kw - 1
    # Only the borders are zeroed: the copy below writes the rest (one pass
    # over a buffer of megabytes, not two).
    padded = y.new_empty(Hp, Wp, n_coils)
    for border in (padded[: kh // 2], padded[kh // 2 + H :],
                   padded[:, : kw // 2], padded[:, kw // 2 + W :]):
        border.zero_()
    inside = padded[kh // 2 : kh // 2 + H, kw // 2 : kw // 2 + W]
    inside.copy_(y.permute(1, 2, 0))
    # (Hp Wp, C) complex64 seen as float64 pairs: fewer, wider row gathers.
    flat = _as_words(padded.view(Hp * Wp, n_coils))
    offsets = (torch.arange(kh, device=y.device)[:, None] * Wp
               + torch.arange(kw, device=y.device)[None, :]).reshape(-1)
    # The windows' top-left corners in padded k-space (samples grouped by
    # pattern); the samples themselves are at the windows' centres.
    corner = rows * Wp + cols
    # Each pattern's sampled points as offsets, and its weights in y's dtype.
    n_points = patterns.sum(1).tolist()
    sources_at = offsets[patterns.nonzero(as_tuple=True)[1]].split(n_points)
    sizes = [w.numel() for w in weights]
    weights = torch.cat([w.flatten() for w in weights]).to(y.dtype).split(sizes)
    filled = y.new_empty(rows.numel(), n_coils)
    stops = torch.tensor(counts).cumsum(0).tolist()
    # One buffer for every pattern's sources (a gather each, no new memory).
    buffer = flat.new_empty(max([c * n for c, n in zip(counts, n_points)], default=0),
                            n_coils)
    for p, (count, stop) in enumerate(zip(counts, stops)):
        if not n_points[p]:  # no source: the samples stay zero
            filled[stop - count : stop].zero_()
        elif count:
            index = corner[stop - count : stop, None] + sources_at[p]
            sources = buffer[: index.numel()]
            torch.index_select(flat, 0, index.view(-1), out=sources)
            torch.matmul(_from_words(sources).view(count, -1),
                         weights[p].view(-1, n_coils),
                         out=filled[stop - count : stop])
    centre = (kh // 2) * Wp + kw // 2
    _from_words(flat).index_copy_(0, corner + centre, filled)
    return inside


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
    if not _finite(m.y):
        raise ValueError(f"GRAPPA: the k-space of {m.name!r} contains NaN or inf.")


def grappa(m: Measurement, kernel_size=(5, 5), lmbda: float = 0.01) -> torch.Tensor:
    """GRAPPA reconstruction of a volume: RSS of the filled coil images,
    centre-cropped to the target size, (S, h, w) float32."""
    S, _, H, W = m.y.shape
    sampled = m.mask.expand(S, 1, H, W)[:, 0].bool()
    images = torch.stack([
        _rss_image(grappa_fill(m.y[s], sampled[s], kernel_size, lmbda))
        for s in range(S)
    ])
    return center_crop(images, m.target_size)


def _rss_image(kspace: torch.Tensor) -> torch.Tensor:
    """RSS of the coil images of (C, H, W) centred k-space, (H, W) real.

    For even H and W the centred inverse FFT is the plain one of the k-space
    modulated by (-1)^(i + j), up to a sign per pixel (physics.checkerboard):
    no FFT shifts. On the CPU the FFT runs on the
    (H, W, C) layout grappa_fill writes, coils contiguous, with scipy.fft,
    which transforms several coils' lines at once there: faster than torch's
    FFT of the (C, H, W) view, the more so with many coils and large images
    (docs/classical-checks.md).
    """
    H, W = kspace.shape[-2:]
    if H % 2 or W % 2:
        x = ifft2c(kspace)
    else:
        sign = checkerboard(H, W, kspace.device)
        if kspace.device.type == "cpu":
            modulated = (kspace.permute(1, 2, 0) * sign[..., None]).numpy()
            x = torch.from_numpy(scipy.fft.ifft2(
                modulated, axes=(0, 1), norm="ortho", overwrite_x=True,
                workers=torch.get_num_threads()))
            parts = torch.view_as_real(x).square_()  # (H, W, C, 2)
            return parts.sum((-2, -1)).sqrt_()
        x = torch.fft.ifft2(kspace * sign, norm="ortho")
    parts = torch.view_as_real(x).square_()  # (C, H, W, 2)
    return (parts[..., 0] + parts[..., 1]).sum(0).sqrt_()
