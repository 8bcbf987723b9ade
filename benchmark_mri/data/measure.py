"""Undersampling fully sampled volumes into what a solver sees."""

from functools import lru_cache

import torch

from ..physics import (
    CartesianSampling,
    CoilNufft,
    ifft2c,
    normalize_dcf,
    pipe_menon_dcf,
)
from ..physics.trajectories import NonCartesianSampling
from .coil_maps import CoilMaps
from .noncartesian import NonCartesianScan, ShotSampling
from .phantom import phantom_volumes
from .smaps import estimate_smaps_nufft
from .transforms import center_crop
from .types import Measurement, Volume


def volume_mask(volume: Volume, sampling: CartesianSampling,
                draw: str | None = None) -> torch.Tensor:
    """The (S, 1, 1, W) bool masks of a volume's slices.

    Drawn over all W columns from a seed fixed by (volume name, slice index
    first_slice + s) (physics.masks.slice_seed), or salted by `draw` (fresh
    training masks); columns outside `volume.acquired_columns` (zero
    padding) are then never sampled, as fastMRI's apply_mask(padding=) does.
    """
    S, _, _, W = volume.kspace.shape
    return slice_masks(volume.name, S, W, volume.acquired_columns, sampling,
                       volume.first_slice, draw)


def slice_masks(name: str, n_slices: int, n_cols: int, acquired_columns,
                sampling: CartesianSampling, first: int = 0, draw=None):
    """`volume_mask` from a volume's name and shape alone (no k-space)."""
    mask = sampling.mask(name, n_slices, n_cols, first=first, draw=draw)
    if acquired_columns is not None:
        start, stop = acquired_columns
        mask[..., :start] = False
        mask[..., stop:] = False
    return mask


def all_finite(t: torch.Tensor) -> bool:
    """Whether every value of t is finite: its sum first (no temporary of t's
    size), every value only when the sum is not (NaN, inf, or an overflow)."""
    if torch.isfinite(t.sum()).all():
        return True
    return bool(torch.isfinite(torch.view_as_real(t) if t.is_complex() else t).all())


def measure(
    volume: Volume | NonCartesianScan,
    sampling: CartesianSampling | NonCartesianSampling | ShotSampling,
    keep_target: bool,
    smaps: "str | CoilMaps" = "acs",
    keys=None,
    draw: str | None = None,
    target_size: tuple[int, int] | None = None,
):
    """Undersample `volume` with its per-slice masks; Cartesian coil maps
    are deferred (computed when first read, data/coil_maps.py).

    keep_target=False for the test split, so that a solver can never read its
    reference. smaps: the Cartesian maps estimator, "espirit" or "acs"
    (data/smaps.py), or a CoilMaps provider; keys: the slices' keys in the
    provider's disk cache (data/split.py), or None; draw: other masks than
    the volume's fixed ones (`volume_mask`); target_size: (h, w) of the
    reference when the volume was read without it (default: the target's,
    else the k-space's). A NonCartesianSampling samples the fully sampled
    coil images along its trajectory instead (`measure_nufft`, maps from the
    k-space centre). A raw non-Cartesian scan takes a ShotSampling
    (`measure_scan`).
    """
    if not all_finite(volume.kspace):
        raise ValueError(
            f"Volume {volume.name!r}: k-space contains NaN or inf values; "
            "check the data file."
        )
    if isinstance(volume, NonCartesianScan) != isinstance(sampling, ShotSampling):
        raise ValueError(
            f"Volume {volume.name!r}: a raw non-Cartesian scan takes a "
            "ShotSampling, and a ShotSampling only applies to raw scans (got "
            f"{type(volume).__name__} and {type(sampling).__name__})."
        )
    if isinstance(sampling, ShotSampling):
        return measure_scan(volume, sampling, keep_target)
    if isinstance(sampling, NonCartesianSampling):
        return measure_nufft(volume, sampling, keep_target)
    mask = volume_mask(volume, sampling, draw)
    y = volume.kspace * mask
    maps = smaps if isinstance(smaps, CoilMaps) else CoilMaps(smaps)
    return Measurement(
        name=volume.name,
        y=y,
        mask=mask,
        smaps=maps.deferred(y, mask, keys, volume.name),
        target_size=target_size or _target_size(volume),
        target=volume.target if keep_target else None,
    )


def _target_size(volume: Volume) -> tuple[int, int]:
    """(h, w) that reconstructions are cropped to: the target's, or (H, W)."""
    if volume.target is None:
        return tuple(volume.kspace.shape[-2:])
    return tuple(volume.target.shape[-2:])


@lru_cache(maxsize=4)
def _pipe_menon(sampling: NonCartesianSampling, shape: tuple[int, int]):
    return pipe_menon_dcf(sampling.traj(max(shape)), shape)


def measure_nufft(volume: Volume, sampling: NonCartesianSampling, keep_target):
    """Retrospective non-Cartesian sampling: the NUFFT of the fully sampled
    coil images ifft2c(kspace) along sampling.traj, with Pipe-Menon density
    compensation and coil maps from the k-space centre
    (data.smaps.estimate_smaps_nufft). y: (S, C, K).

    The reconstruction grid is the target's field of view: coil images
    larger than the target (fastMRI's 640 x 368 knee k-space, 320 x 320
    targets) are centre-cropped to it first, as NC-PDNet did on fastMRI. On a
    rectangular h x w grid the trajectory is that of max(h, w) pixels: the
    same k-space disc (isotropic pixels), Nyquist along both axes. A
    simulated volume (volume.simulation, the phantom) is sampled on its
    simulation grid instead, with fresh noise: its data then do not come from
    the NUFFT that solvers invert (no inverse crime).
    """
    h, w = _target_size(volume)
    traj = sampling.traj(max(h, w))
    nufft = CoilNufft(traj, (h, w))
    dcf = _pipe_menon(sampling, (h, w))
    if volume.simulation is not None:
        y = volume.simulation.sample(volume.name, traj)
    else:
        coils = center_crop(ifft2c(volume.kspace), (h, w))  # (S, C, h, w)
        y = nufft(coils.contiguous())
    return Measurement(
        name=volume.name,
        y=y,
        mask=None,
        smaps=estimate_smaps_nufft(y, nufft, dcf),
        target_size=(h, w),
        target=volume.target if keep_target else None,
        traj=traj,
        dcf=dcf,
    )


def scan_dcf(scan: NonCartesianScan) -> torch.Tensor:
    """(K,) weights in Nyquist cells: the file's, normalised, else Pipe-Menon."""
    _, traj, dcf = scan.flat()
    if dcf is None:
        return pipe_menon_dcf(traj, scan.image_shape)
    return normalize_dcf(dcf, traj, scan.image_shape)


def measure_scan(scan: NonCartesianScan, sampling: ShotSampling, keep_target: bool
                 ) -> Measurement:
    """The Measurement of every sampling.acceleration-th shot of `scan`: one
    slice, y (1, C, K), Pipe-Menon / the file's density compensation, maps
    from the k-space centre (data.smaps.estimate_smaps_nufft)."""
    if sampling.acceleration > scan.n_shots:
        raise ValueError(
            f"{scan.name}: acceleration {sampling.acceleration} keeps no more than "
            f"one of its {scan.n_shots} shots: use at most {scan.n_shots}."
        )
    sub = scan.every(sampling.acceleration) if sampling.acceleration > 1 else scan
    y, traj, _ = sub.flat()
    dcf = scan_dcf(sub)
    y = y[None]  # (1, C, K)
    nufft = CoilNufft(traj, scan.image_shape)
    return Measurement(
        name=scan.name,
        y=y,
        mask=None,
        smaps=estimate_smaps_nufft(y, nufft, dcf),
        target_size=scan.target_size,
        target=scan.target if keep_target else None,
        traj=traj,
        dcf=dcf,
    )


def phantom_split(n_train: int, n_test: int, seed: int, sampling, **shape):
    """(train, test, targets) of seeded phantoms (data.phantom_volumes with
    `shape`): train Measurements with their targets, test ones without, and
    the test volumes' targets (S, h, w), for scripts and tests."""
    train = [measure(v, sampling, keep_target=True)
             for v in phantom_volumes("train", n_train, seed, **shape)]
    volumes = phantom_volumes("test", n_test, seed, **shape)
    test = [measure(v, sampling, keep_target=False) for v in volumes]
    return train, test, [v.target for v in volumes]
