"""Raw non-Cartesian scans as test data: references, and shot undersampling.

A raw scan (data/noncartesian.py) is already a set of k-space samples: it
has no Cartesian "fully sampled" k-space for `measure` to undersample. Here
a scan acquired at full density gets a reference image, CG-SENSE on all its
shots (LinearOperator.solve_normal, density-weighted), and `ShotSampling` keeps
every R-th shot of it, the way an accelerated acquisition drops spokes or
interleaves; the scores are then against the reconstruction from every
shot (a reference, not a ground truth: it has the full scan's noise and
blur). A scan that was acquired undersampled (the radial cardiac file) has
no reference: its reconstructions are shown, not scored.

Known scans (../shared/data/noncartesian/, README there) are described in
SCANS: the grid to reconstruct on, the region that is scored, whether the
scan is fully sampled.
"""

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .measure import measure_scan
from .noncartesian import (
    NonCartesianScan,
    ShotSampling,
    compress_coils,
    read_noncartesian,
)
from .transforms import center_crop


@dataclass(frozen=True)
class ScanInfo:
    """grid: (H, W) to reconstruct on (None: the file's image_shape); scored:
    the central (h, w) region that is scored; fully_sampled: the scan is
    dense enough for a reference."""

    grid: tuple[int, int] | None
    scored: tuple[int, int] | None
    fully_sampled: bool


SCANS = {
    # The GE resolution phantom's neighbours reach beyond the 200 x 200 field
    # of view of its README: on that grid least squares fits their aliasing
    # (a far larger data residual than on 300 x 300, docs/non-cartesian.md),
    # so the grid is 300 x 300 and the central 200 x 200 is scored.
    "spiral_phantom_8ch_60il": ScanInfo((300, 300), (200, 200), True),
    "radial_cardiac_12ch_25spokes": ScanInfo(None, None, False),
}
REFERENCE_CG_ITERATIONS = 20


def find_scan_folder(configured, benchmark_dir, env=os.environ) -> Path | None:
    """Where the raw scans live: $BENCHMARK_MRI_RAW_DIR if set (it must
    exist), else benchopt's data path "noncartesian" if it exists, else
    ../shared/data/noncartesian beside the benchmark (this project's layout),
    else None."""
    if env.get("BENCHMARK_MRI_RAW_DIR"):
        folder = Path(env["BENCHMARK_MRI_RAW_DIR"]).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"BENCHMARK_MRI_RAW_DIR={folder}: no such folder.")
        return folder
    for folder in (configured, Path(benchmark_dir) / ".." / "shared" / "data"
                   / "noncartesian"):
        if folder is not None and Path(folder).is_dir():
            return Path(folder)
    return None


def how_to_point(*looked_at) -> str:
    """The skip message: where the scans were looked for, and how to point."""
    places = " and ".join(str(p) for p in looked_at if p is not None) or "nowhere"
    return (
        f"No raw non-Cartesian scans found (looked at {places}): `export "
        "BENCHMARK_MRI_RAW_DIR=/path/to/noncartesian`, the folder holding "
        + ", ".join(f"{n}.npz" for n in SCANS) + "."
    )


def load_scan(folder, name: str, n_coils: int | None = None) -> NonCartesianScan:
    """Scan `name` of SCANS from `folder`, coil-compressed to `n_coils` (SVD,
    None: all coils), on its grid, with its CG-SENSE reference when it is
    fully sampled (cropped to its scored region)."""
    if name not in SCANS:
        raise ValueError(f"Unknown raw scan {name!r}: use one of {sorted(SCANS)}.")
    info = SCANS[name]
    scan = read_noncartesian(Path(folder) / f"{name}.npz", image_shape=info.grid)
    if n_coils is not None:
        scan = replace(scan, kspace=compress_coils(scan.kspace, n_coils))
    if info.fully_sampled:
        scan = replace(scan, target=reference_image(scan, info.scored))
    return scan


def reference_image(scan: NonCartesianScan, scored=None) -> torch.Tensor:
    """(1, h, w) float32: |CG-SENSE| of every shot, density-weighted, with
    maps from the k-space centre, centre-cropped to `scored` (None: the grid)."""
    m = measure_scan(scan, ShotSampling(1), keep_target=False)
    op, y = m.data_consistency()
    x = op.solve_normal(y, REFERENCE_CG_ITERATIONS)
    return center_crop(x.abs(), scored or scan.image_shape).float()


__all__ = ["SCANS", "find_scan_folder", "how_to_point", "load_scan", "reference_image"]
