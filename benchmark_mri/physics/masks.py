"""fastMRI-style Cartesian undersampling masks over phase-encode columns.

A mask samples whole columns (the last axis, W) of k-space: a fully sampled
centre block of round(W * center_fraction) columns plus, outside it,
- "random": each column with probability (W / R - n_low) / (W - n_low), so that
  W / R columns are sampled on average (fastMRI's RandomMaskFunc);
- "equispaced": columns every R' positions from a random offset, with R'
  adjusted for the centre block so that about W / R columns are sampled
  (fastMRI's EquispacedMaskFractionFunc, which made the public multicoil data).
Masks are drawn with numpy's legacy RandomState, as fastMRI does, from a seed
fixed per slice, so every solver, run and worker sees the same mask.
"""

import zlib
from dataclasses import dataclass

import numpy as np
import torch

MASK_TYPES = ("random", "equispaced")
# fastMRI challenge pairs: acceleration -> fraction of fully sampled centre columns.
DEFAULT_CENTER_FRACTIONS = {4: 0.08, 8: 0.04}


def slice_seed(volume: str, slice_index: int) -> int:
    """A seed that depends only on (volume name, slice index), stable across
    processes and Python versions (unlike hash())."""
    return zlib.crc32(f"{volume}:{slice_index}".encode())


@dataclass(frozen=True)
class CartesianSampling:
    """How k-space columns are undersampled.

    mask_type: "random" or "equispaced"; acceleration: R > 1; center_fraction:
    fraction of centre columns always sampled, fastMRI's pair by default
    (0.08 at 4x, 0.04 at 8x).
    """

    mask_type: str
    acceleration: int
    center_fraction: float | None = None

    def __post_init__(self):
        if self.mask_type not in MASK_TYPES:
            raise ValueError(
                f"Unknown mask_type {self.mask_type!r}: use one of {MASK_TYPES}."
            )
        if not self.acceleration > 1:
            raise ValueError(
                f"acceleration must be > 1 (got {self.acceleration!r})."
            )
        if self.center_fraction is None:
            if self.acceleration not in DEFAULT_CENTER_FRACTIONS:
                raise ValueError(
                    f"No default center_fraction for acceleration "
                    f"{self.acceleration}: fastMRI defines "
                    f"{DEFAULT_CENTER_FRACTIONS}; pass center_fraction."
                )
            object.__setattr__(
                self, "center_fraction", DEFAULT_CENTER_FRACTIONS[self.acceleration]
            )
        if not 0 < self.center_fraction < 1 / self.acceleration:
            raise ValueError(
                f"center_fraction must be in (0, 1/acceleration) = "
                f"(0, {1 / self.acceleration:.3g}) (got {self.center_fraction})."
            )

    def column_mask(self, n_cols: int, seed: int) -> np.ndarray:
        """Boolean mask of shape (n_cols,): True where a column is sampled."""
        rng = np.random.RandomState(seed)
        n_low = int(round(n_cols * self.center_fraction))
        if n_low < 1:
            raise ValueError(
                f"{n_cols} columns x center_fraction {self.center_fraction} "
                "leaves no autocalibration column: use a larger image."
            )
        accel = self.acceleration
        if self.mask_type == "random":
            prob = (n_cols / accel - n_low) / (n_cols - n_low)
            mask = rng.uniform(size=n_cols) < prob
        else:
            mask = np.zeros(n_cols, dtype=bool)
            adjusted = accel * (n_low - n_cols) / (n_low * accel - n_cols)
            offset = rng.randint(0, round(adjusted))
            cols = np.around(np.arange(offset, n_cols - 1, adjusted)).astype(int)
            mask[cols] = True
        pad = (n_cols - n_low + 1) // 2
        mask[pad : pad + n_low] = True
        return mask

    def mask(self, volume: str, n_slices: int, n_cols: int, first: int = 0,
             draw: str | None = None) -> torch.Tensor:
        """Masks of slices first .. first + n_slices - 1 of one volume: (S, 1,
        1, W) bool, broadcastable against k-space (S, C, H, W). draw: None
        for the volume's fixed masks; any other text draws other masks from
        seeds salted by it (the fresh training masks of train_masks="random")."""
        name = volume if draw is None else f"{volume}#{draw}"
        seeds = [slice_seed(name, i) for i in range(first, first + n_slices)]
        masks = [self.column_mask(n_cols, seed) for seed in seeds]
        return torch.from_numpy(np.stack(masks))[:, None, None, :]


def acs_bounds(column_mask: np.ndarray | torch.Tensor) -> tuple[int, int]:
    """[start, stop) of the contiguous block of sampled columns around the centre.

    Raises ValueError when the centre column W // 2 is not sampled.
    """
    m = np.asarray(column_mask, dtype=bool).reshape(-1)
    centre = m.size // 2
    if not m[centre]:
        raise ValueError(
            "The mask has no autocalibration region: its centre column "
            f"{centre} of {m.size} is not sampled. Calibration-based methods "
            "(GRAPPA, coil-map estimation) need a fully sampled centre block."
        )
    start, stop = centre, centre + 1
    while start > 0 and m[start - 1]:
        start -= 1
    while stop < m.size and m[stop]:
        stop += 1
    return start, stop
