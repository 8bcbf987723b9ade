"""Coil sensitivity estimation from the autocalibration (ACS) region.

Two estimators, both from the undersampled data only (never the true maps):
- "acs": coil images of the low-resolution ACS block over their RSS;
- "espirit": ESPIRiT (Uecker et al., MRM 2014), one set of maps, with the
  defaults of sigpy's `EspiritCalib` (6 x 6 kernels, 24 x 24 calibration,
  singular-value threshold 0.02, eigenvalue crop 0.95), and tested against
  sigpy. Unlike sigpy, whose calibration region is a square, the region here is
  the largest centred block inside the sampled ACS columns (at most 24 x 24, as
  BART's `ecalib -r 24` does), so masks with fewer than 24 ACS columns (8x)
  still calibrate on sampled data only; narrow regions use smaller kernels
  (see estimate_smaps_espirit).

Phase. Maps are defined up to a common phase map; the SENSE image takes the
opposite phase. ACS maps absorb the object's low-resolution phase, so their
SENSE image is nearly real; ESPIRiT's (like sigpy's and BART's, phase
relative to the first coil) leave the object's phase in the image. The
objective's "espirit" maps absorb that phase too (`absorb_image_phase`):
magnitudes, and so every score, are unchanged, but a learned model then
reconstructs a nearly real image, which is what made learned models train
well on them (measured in docs/coil-maps.md, benchmarks/smaps_phase.py).
"""

import numpy as np
import torch

from ..physics import acs_bounds, ifft2c, rss

SMAPS_METHODS = ("espirit", "acs")


def estimate_smaps_acs(y: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6):
    """Low-resolution coil maps: coil images of the ACS block over their RSS.

    y: (S, C, H, W) complex64 undersampled k-space; mask: (S, 1, 1, W).
    Returns (S, C, H, W) complex64 maps with sum_c |S_c|^2 = 1 where the
    RSS exceeds eps times the slice's maximum. Only the sampled centre block
    of columns is used, so the maps are what a scanner's own calibration
    would see, never the true sensitivities.
    """
    # Slice by slice: a slice's maps do not depend on the other slices read
    # with it (a streamed slice gets the maps it has in the whole volume),
    # and a volume needs no full-size temporaries beyond its maps.
    maps = torch.empty_like(y)
    for s in range(y.shape[0]):
        start, stop = acs_bounds(mask[s].reshape(-1).cpu())
        acs = torch.zeros_like(y[s:s + 1])
        acs[..., start:stop] = y[s:s + 1, ..., start:stop]
        images = ifft2c(acs)
        norm = rss(images)[:, None]
        maps[s] = (images / torch.maximum(norm, eps * norm.amax(dim=(-2, -1),
                                                                keepdim=True)))[0]
    return maps


def _centred(n: int, size: int) -> slice:
    """The `size` samples around the centre n // 2 (sigpy's resize convention)."""
    start = n // 2 - size // 2
    return slice(start, start + size)


def calibration_width(n: int, start: int, stop: int, max_width: int) -> int:
    """Largest width <= max_width whose centred window lies inside [start, stop)."""
    for width in range(min(max_width, n), 0, -1):
        window = _centred(n, width)
        if start <= window.start and window.stop <= stop:
            return width
    return 0


def espirit_kernels(calib: torch.Tensor, kernel_size: int, thresh: float):
    """Rows of the calibration matrix's signal subspace.

    calib: (C, h, w) fully sampled k-space block. Returns (K, C, k, k): the
    right singular vectors (as rows, sigpy's VH) whose singular value exceeds
    thresh * the largest.
    """
    C = calib.shape[0]
    k = kernel_size
    blocks = calib.unfold(1, k, 1).unfold(2, k, 1)  # (C, by, bx, k, k)
    mat = blocks.permute(1, 2, 0, 3, 4).reshape(-1, C * k * k).to(torch.complex128)
    # The SVD through the eigendecomposition of the smaller Gram matrix
    # (several times faster on CPU than an SVD): sv^2 = its eigenvalues.
    if mat.shape[0] < mat.shape[1]:
        values, u = torch.linalg.eigh(mat @ mat.mH)
        sv = values.clamp(min=0).sqrt()
        keep = sv > thresh * sv.max()
        vh = (mat.mH @ u[:, keep] / sv[keep]).mH
    else:
        values, v = torch.linalg.eigh(mat.mH @ mat)
        sv = values.clamp(min=0).sqrt()
        keep = sv > thresh * sv.max()
        vh = v[:, keep].mH
    return vh.reshape(-1, C, k, k)


def _shift_indicator(k: int) -> torch.Tensor:
    """(k^2 * k^2, (2k - 1)^2) 0/1 matrix: entry ((f, g), d) is 1 when
    g = f - d (f, g: kernel positions, d: a 2D shift)."""
    f = torch.stack(torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij"))
    f = f.reshape(2, -1)  # (2, k^2)
    d = f[:, :, None] - f[:, None, :] + (k - 1)  # (2, k^2, k^2) in [0, 2k - 1)
    index = (d[0] * (2 * k - 1) + d[1]).reshape(-1)
    out = torch.zeros(k**4, (2 * k - 1) ** 2)
    out[torch.arange(k**4), index] = 1
    return out


def espirit_gram(kernels: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """The per-pixel ESPIRiT operator (H, W, C, C) of sigpy's EspiritCalib.

    sigpy sums, over kernels, the outer products of their zero-padded inverse
    FFTs, scaled by H W / k^2. Those images are band-limited, so the sum is the
    inverse FFT of the kernels' cross-correlations, a (2k - 1)^2 block: one
    small matrix product and one FFT per coil pair instead of one per kernel.
    """
    K, C, k, _ = kernels.shape
    H, W = shape
    if not (2 * k - 1 <= H and 2 * k - 1 <= W):
        raise ValueError(f"Image {shape} too small for {k} x {k} ESPIRiT kernels.")
    flat = kernels.reshape(K, C, k * k)
    # proj[i, j, (f, g)] = sum_n K_n,i(f) conj(K_n,j(g))
    proj = torch.einsum("nif,njg->ijfg", flat, flat.conj()).reshape(C, C, -1)
    # corr[i, j, d] = sum_f K_i(f) conj(K_j(f - d))
    corr = proj @ _shift_indicator(k).to(proj.dtype)
    grid = torch.zeros(C, C, H, W, dtype=torch.complex64)
    rows = slice(H // 2 - (k - 1), H // 2 + k)
    cols = slice(W // 2 - (k - 1), W // 2 + k)
    grid[..., rows, cols] = corr.reshape(C, C, 2 * k - 1, 2 * k - 1)
    gram = ifft2c(grid) * (np.sqrt(H * W) / k**2)  # (C, C, H, W)
    return gram.permute(2, 3, 0, 1).contiguous()  # (H, W, C, C)


def espirit_maps(
    kspace: torch.Tensor,
    calib_size: tuple[int, int],
    kernel_size: int = 6,
    thresh: float = 0.02,
    crop: float = 0.95,
):
    """ESPIRiT maps of one slice.

    kspace: (C, H, W) complex, fully sampled inside the centred calib_size
    block (rows, columns). Returns (maps (C, H, W) complex64, eigenvalue
    (H, W) float32): the leading eigenvector of the ESPIRiT operator per pixel,
    phase relative to coil 0, zero where the eigenvalue is <= crop.
    """
    C, H, W = kspace.shape
    calib = kspace[:, _centred(H, calib_size[0]), _centred(W, calib_size[1])]
    if min(calib.shape[1:]) < kernel_size:
        raise ValueError(
            f"ESPIRiT calibration region {tuple(calib.shape[1:])} is smaller than "
            f"its {kernel_size} x {kernel_size} kernel: use a mask with more "
            "autocalibration columns, or smaps='acs'."
        )
    gram = espirit_gram(espirit_kernels(calib, kernel_size, thresh), (H, W))
    # The leading eigenvector per pixel, exactly (sigpy runs 100 power
    # iterations towards it; one batched eigh is faster and needs no
    # convergence check on a busy CPU).
    values, vectors = torch.linalg.eigh(gram)  # ascending eigenvalues
    eig = values[..., -1]  # (H, W)
    maps = vectors[..., -1].permute(2, 0, 1)  # (C, H, W)
    ref = maps[0]
    maps = maps * torch.where(ref.abs() > 0, ref.conj() / ref.abs(), 1)
    maps = maps * (eig > crop)
    return maps.to(torch.complex64), eig.to(torch.float32)


def estimate_smaps_espirit(
    y: torch.Tensor,
    mask: torch.Tensor,
    max_calib: int = 24,
    kernel_size: int = 6,
    **kwargs,
):
    """ESPIRiT maps (S, C, H, W) complex64 from undersampled k-space.

    y: (S, C, H, W); mask: (S, 1, 1, W). Each slice calibrates on the largest
    centred block, at most max_calib x max_calib, inside its sampled ACS
    columns. The kernel is kernel_size wide, shrunk to half the calibration
    width (at least 3) when fewer than 2 kernel_size ACS columns are sampled
    (e.g. 10 columns of a 128-wide 4x mask: 5 x 5): a 6 x 6 kernel on 8
    columns leaves too few calibration blocks and crops the maps inside the
    object. Below 3 columns ESPIRiT is not defined and this raises. With 24 or
    more ACS columns this is sigpy's EspiritCalib(calib_width=24). kwargs go
    to espirit_maps (thresh, crop).
    """
    S, _, H, W = y.shape
    maps = torch.empty_like(y, dtype=torch.complex64)
    for s in range(S):
        start, stop = acs_bounds(mask[s].reshape(-1).cpu())
        width = calibration_width(W, start, stop, max_calib)
        calib = (min(max_calib, H), width)
        kernel = min(kernel_size, max(3, (width + 1) // 2))
        if width < 3:
            raise ValueError(
                f"ESPIRiT needs at least 3 autocalibration columns; slice {s} "
                f"has {stop - start} (columns {start}..{stop - 1} of {W}): use "
                "smaps='acs' or a mask with a wider centre."
            )
        maps[s] = espirit_maps(y[s], calib, kernel_size=kernel, **kwargs)[0]
    return maps


def absorb_image_phase(smaps, y, mask):
    """`smaps` times the phase of the low-resolution SENSE image of the ACS
    block, sum_c conj(S_c) (ACS coil image)_c, so that the SENSE image of
    the data is nearly real (see the module docstring). Shapes as
    estimate_smaps_acs."""
    low_res = torch.sum(smaps.conj() * estimate_smaps_acs(y, mask), dim=1, keepdim=True)
    return smaps * torch.exp(1j * torch.angle(low_res))


def estimate_smaps(y: torch.Tensor, mask: torch.Tensor, method: str = "espirit"):
    """Coil maps (S, C, H, W) by `method`, one of SMAPS_METHODS; "espirit"
    maps with the image's low-resolution phase absorbed."""
    if method == "espirit":
        return absorb_image_phase(estimate_smaps_espirit(y, mask), y, mask)
    if method == "acs":
        return estimate_smaps_acs(y, mask)
    raise ValueError(f"Unknown smaps method {method!r}: use one of {SMAPS_METHODS}.")


def estimate_smaps_nufft(y, nufft, dcf, calib_size: float = 24, eps: float = 1e-3):
    """Low-resolution coil maps from non-Cartesian samples, as
    `estimate_smaps_acs` does from the ACS block: the density-compensated
    adjoint of the samples within the central disc of diameter `calib_size`
    Nyquist cells (2 pi * calib_size / H radians across), tapered by a cosine
    squared to limit ringing, divided by its RSS.

    y: (..., C, K) complex64 samples; nufft: physics.CoilNufft of the
    trajectory; dcf: (K,) weights. Returns (..., C, H, W) complex64 with
    sum_c |S_c|^2 = 1 where the RSS exceeds eps times its maximum.
    """
    traj = nufft.traj.to(torch.float32)
    radius = torch.linalg.vector_norm(traj, dim=-1)
    cutoff = torch.pi * calib_size / min(nufft.shape)
    taper = torch.cos(torch.pi / 2 * radius / cutoff) ** 2
    taper = torch.where(radius < cutoff, taper, 0)
    images = nufft.adjoint(dcf * taper * y)
    norm = rss(images)[..., None, :, :]
    return images / torch.clamp(norm, min=eps * float(norm.max()))
