"""Raw non-Cartesian multi-coil scans stored as NumPy .npz files.

The layout of ../shared/data/noncartesian/ (see its README): `kspace`
(coils, n_samples) complex64; `traj` (n_samples, 2) radians in [-pi, pi)
(pynufft's `om`: column 0 along the image's first axis); optional `dcf`
(n_samples,); optional `spokes` / `interleaves` (number of shots) and
`image_shape`. Samples are stored readout-major: sample j of shot s is at
index j * n_shots + s (checked: the first n_shots samples must all lie at the
same radius, the start of every shot).
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class NonCartesianScan:
    """One raw 2D scan, shot by shot.

    kspace: (C, n_shots, n_readout) complex64; traj: (n_shots, n_readout, 2)
    float32 radians; dcf: (n_shots, n_readout) float32 as the source gave it
    (any scale: see physics.normalize_dcf) or None; image_shape: (H, W) of
    the reconstruction grid the trajectory's radians refer to; target: (1, h,
    w) float32 reference magnitude (data/raw_scans.py), or None when the scan
    has none (an undersampled acquisition: shown, not scored).
    """

    name: str
    kspace: torch.Tensor
    traj: np.ndarray
    dcf: np.ndarray | None
    image_shape: tuple[int, int]
    target: torch.Tensor | None = None

    @property
    def n_shots(self) -> int:
        return self.traj.shape[0]

    @property
    def target_size(self) -> tuple[int, int]:
        """(h, w) reconstructions are cropped to: the target's, or the grid."""
        if self.target is None:
            return self.image_shape
        return tuple(self.target.shape[-2:])

    def every(self, step: int) -> "NonCartesianScan":
        """The scan keeping every `step`-th shot (retrospective undersampling
        by `step`, the way an accelerated acquisition drops interleaves)."""
        if not (isinstance(step, int) and 1 <= step <= self.n_shots):
            raise ValueError(
                f"step must be an integer in [1, {self.n_shots}] (got {step!r})."
            )
        return NonCartesianScan(
            name=f"{self.name}[::{step}]",
            kspace=self.kspace[:, ::step].contiguous(),
            traj=self.traj[::step],
            dcf=None if self.dcf is None else self.dcf[::step],
            image_shape=self.image_shape,
            target=self.target,
        )

    def flat(self):
        """(kspace (C, K), traj (K, 2), dcf (K,) or None), K = shots x readout."""
        C = self.kspace.shape[0]
        dcf = None if self.dcf is None else self.dcf.reshape(-1)
        return self.kspace.reshape(C, -1), self.traj.reshape(-1, 2), dcf



@dataclass(frozen=True)
class ShotSampling:
    """Keep every `acceleration`-th shot (spoke, interleaf) of a raw scan."""

    acceleration: int

    def __post_init__(self):
        if not (isinstance(self.acceleration, int) and self.acceleration >= 1):
            raise ValueError(
                f"acceleration must be an integer >= 1 (got {self.acceleration!r}):"
                " every acceleration-th shot of the scan is kept."
            )

def _n_shots(path: Path, data, n_shots):
    for key in ("spokes", "interleaves"):
        if key in data.files:
            return int(data[key])
    if n_shots is not None:
        return int(n_shots)
    match = re.search(r"_(\d+)(il|spokes)", path.name)
    if match:
        return int(match.group(1))
    raise ValueError(
        f"{path}: cannot tell the number of shots (no 'spokes' or "
        "'interleaves' key, no '_<n>il' / '_<n>spokes' in the name): pass n_shots."
    )


def read_noncartesian(path, image_shape=None, n_shots=None) -> NonCartesianScan:
    """Read one .npz scan (layout in the module docstring).

    image_shape: (H, W), required when the file has no `image_shape` key
    (e.g. (200, 200) for the spiral phantom); n_shots: when neither the keys
    nor the file name give it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No non-Cartesian scan at {path}.")
    data = np.load(path)
    missing = {"kspace", "traj"} - set(data.files)
    if missing:
        raise ValueError(f"{path}: missing key(s) {sorted(missing)}.")
    kspace, traj = data["kspace"], data["traj"].astype(np.float32)
    if kspace.ndim != 2 or traj.shape != (kspace.shape[1], 2):
        raise ValueError(
            f"{path}: expected kspace (coils, n_samples) and traj (n_samples, "
            f"2); got {kspace.shape} and {traj.shape}."
        )
    if image_shape is None:
        if "image_shape" not in data.files:
            raise ValueError(
                f"{path} has no 'image_shape': pass image_shape=(H, W), the "
                "grid its trajectory's radians refer to."
            )
        image_shape = tuple(int(n) for n in data["image_shape"])
    shots = _n_shots(path, data, n_shots)
    if kspace.shape[1] % shots:
        raise ValueError(f"{path}: {kspace.shape[1]} samples are not {shots} shots.")
    readout = kspace.shape[1] // shots
    radius = np.hypot(traj[:shots, 0], traj[:shots, 1])
    if np.ptp(radius) > 1e-3:
        raise ValueError(
            f"{path}: the first {shots} samples are not the starts of the "
            "shots (their radii differ): the layout is not readout-major."
        )
    C = kspace.shape[0]

    def shot_major(a):  # (readout * shots, ...) -> (shots, readout, ...)
        return np.swapaxes(a.reshape(readout, shots, *a.shape[1:]), 0, 1)

    kspace = np.swapaxes(kspace.reshape(C, readout, shots), 1, 2)
    dcf = data["dcf"].astype(np.float32) if "dcf" in data.files else None
    return NonCartesianScan(
        name=path.stem,
        kspace=torch.from_numpy(np.ascontiguousarray(kspace, dtype=np.complex64)),
        traj=np.ascontiguousarray(shot_major(traj)),
        dcf=None if dcf is None else np.ascontiguousarray(shot_major(dcf)),
        image_shape=tuple(image_shape),
    )


def compress_coils(kspace: torch.Tensor, n_coils: int) -> torch.Tensor:
    """SVD coil compression: (C, ...) complex -> (n_coils, ...), the
    n_coils virtual coils holding most of the signal energy."""
    C = kspace.shape[0]
    if not 1 <= n_coils <= C:
        raise ValueError(f"n_coils must be in [1, {C}] (got {n_coils}).")
    flat = kspace.reshape(C, -1)
    u = torch.linalg.svd(flat, full_matrices=False)[0]
    return (u[:, :n_coils].conj().T @ flat).reshape(n_coils, *kspace.shape[1:])
