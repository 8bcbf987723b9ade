"""fastMRI-style Cartesian undersampling masks over phase-encode columns.

A mask samples whole columns (the last axis, W) of k-space: a fully sampled
centre block of round(W * center_fraction) columns plus, outside it,
- "random": each column with probability (W / R - n_low) / (W - n_low), so that
  W / R columns are sampled on average (fastMRI's RandomMaskFunc);
- "equispaced": columns every R' positions from a random offset, with R'
  adjusted for the centre block so that about W / R columns are sampled
  (fastMRI's EquispacedMaskFractionFunc, which made the public multicoil data);
- "gaussian": 1D variable density: round(W / R) - n_low columns drawn without
  replacement among the others with probabilities proportional to a Gaussian
  of the distance to the centre column W // 2 (standard deviation
  GAUSSIAN_WIDTH * W), so exactly round(W / R) columns are sampled, densest
  near the centre (as DIRECT's Gaussian1DMaskFunc and the variable-density
  masks of Lustig et al. 2007, drawn here with exact counts).
Masks are drawn with numpy's legacy RandomState, as fastMRI does, from a seed
fixed per slice, so every solver, run and worker sees the same mask.

The budget of an acquisition (what a proposed mask may sample, data/
acquisition.py): `max_columns(W)` = ceil(W / R) columns at most, among them
the centre block `acs_columns(W)`.
"""

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

MASK_TYPES = ("random", "equispaced", "gaussian")
# fastMRI challenge pairs: acceleration -> fraction of fully sampled centre columns.
DEFAULT_CENTER_FRACTIONS = {4: 0.08, 8: 0.04}
# Standard deviation of the "gaussian" density, in units of the width W: the
# density falls to exp(-4.5) ~ 1% at the edges (3 standard deviations).
GAUSSIAN_WIDTH = 1 / 6


def slice_seed(volume: str, slice_index: int) -> int:
    """A seed that depends only on (volume name, slice index), stable across
    processes and Python versions (unlike hash())."""
    return zlib.crc32(f"{volume}:{slice_index}".encode())


@dataclass(frozen=True)
class CartesianSampling:
    """How k-space columns are undersampled.

    mask_type: "random", "equispaced" or "gaussian"; acceleration: R > 1;
    center_fraction: fraction of centre columns always sampled, fastMRI's
    pair by default (0.08 at 4x, 0.04 at 8x).
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

    def acs_columns(self, n_cols: int) -> tuple[int, int]:
        """[start, stop) of the centre block every mask samples (acs_block)."""
        start, stop = acs_block(n_cols, self.center_fraction)
        if stop == start:
            raise ValueError(
                f"{n_cols} columns x center_fraction {self.center_fraction} "
                "leaves no autocalibration column: use a larger image."
            )
        return start, stop

    def max_columns(self, n_cols: int) -> int:
        """The most columns of W an acquisition at this acceleration samples:
        ceil(W / R) (the budget of a proposed mask, data/acquisition.py)."""
        return math.ceil(n_cols / self.acceleration)

    def column_mask(self, n_cols: int, seed: int) -> np.ndarray:
        """Boolean mask of shape (n_cols,): True where a column is sampled."""
        rng = np.random.RandomState(seed)
        start, stop = self.acs_columns(n_cols)
        n_low = stop - start
        accel = self.acceleration
        if self.mask_type == "random":
            prob = (n_cols / accel - n_low) / (n_cols - n_low)
            mask = rng.uniform(size=n_cols) < prob
        elif self.mask_type == "equispaced":
            mask = np.zeros(n_cols, dtype=bool)
            adjusted = accel * (n_low - n_cols) / (n_low * accel - n_cols)
            offset = rng.randint(0, round(adjusted))
            cols = np.around(np.arange(offset, n_cols - 1, adjusted)).astype(int)
            mask[cols] = True
        else:
            mask = _gaussian_columns(n_cols, (start, stop),
                                     int(round(n_cols / accel)) - n_low, rng)
        mask[start:stop] = True
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


def acs_block(n_cols: int, center_fraction: float) -> tuple[int, int]:
    """[start, stop) of the fully sampled centre block: round(W x
    center_fraction) columns from (W - n_low + 1) // 2 (fastMRI's); empty
    when that rounds to 0."""
    n_low = int(round(n_cols * center_fraction))
    pad = (n_cols - n_low + 1) // 2
    return pad, pad + n_low


def _gaussian_columns(n_cols: int, acs: tuple[int, int], n_outer: int,
                      rng: np.random.RandomState) -> np.ndarray:
    """(n_cols,) bool: n_outer columns outside the block acs = [start, stop),
    drawn without replacement with probabilities proportional to
    exp(-(k - W // 2)^2 / (2 sigma^2)), sigma = GAUSSIAN_WIDTH * W."""
    mask = np.zeros(n_cols, dtype=bool)
    outer = np.r_[0:acs[0], acs[1]:n_cols]
    if n_outer <= 0 or not outer.size:
        return mask
    sigma = GAUSSIAN_WIDTH * n_cols
    density = np.exp(-0.5 * ((outer - n_cols // 2) / sigma) ** 2)
    chosen = rng.choice(outer, size=min(n_outer, outer.size), replace=False,
                        p=density / density.sum())
    mask[chosen] = True
    return mask


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
