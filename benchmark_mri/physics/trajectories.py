"""Non-Cartesian 2D k-space trajectories, in radians in [-pi, pi).

Every trajectory is a float32 array (n_shots * n_readout, 2), shot-major (the
samples of shot 0, then of shot 1, ...); column 0 is k along the image's
first axis (H), column 1 along its second (W); pi is the Nyquist edge of an
image of the size given, so a sample spacing of 2 pi / N is Nyquist for N
pixels. "Acceleration" R means R times fewer shots (spokes or interleaves)
than the fully sampled trajectory of the same image size.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .masks import DEFAULT_CENTER_FRACTIONS, CartesianSampling

GOLDEN_ANGLE = np.pi * (np.sqrt(5) - 1) / 2  # 111.25 degrees, for full spokes


def _check_positive_int(name, value):
    if not (isinstance(value, (int, np.integer)) and value >= 1):
        raise ValueError(f"{name} must be a positive integer (got {value!r}).")


def _as_traj(kh: np.ndarray, kw: np.ndarray) -> np.ndarray:
    traj = np.stack([kh.ravel(), kw.ravel()], axis=1)
    # Rounding can land a sample on +pi: the same frequency as -pi.
    traj = np.where(traj >= np.pi, traj - 2 * np.pi, traj)
    return traj.astype(np.float32)


def full_radial_spokes(image_size: int) -> int:
    """Spokes that sample an image_size-pixel disc at Nyquist at its edge:
    ceil(pi / 2 * image_size) full-diameter spokes."""
    _check_positive_int("image_size", image_size)
    return int(np.ceil(np.pi / 2 * image_size))


def golden_angle_radial(n_spokes: int, n_readout: int) -> np.ndarray:
    """(n_spokes * n_readout, 2) full-diameter spokes at golden-angle
    increments (Winkelmann et al., IEEE TMI 2007).

    Spoke s has angle s * 111.25 degrees (mod 180); its samples sit at radii
    2 pi (j - n_readout // 2) / n_readout, j = 0 .. n_readout - 1, so the
    readout spacing is 2 pi / n_readout (Nyquist for n_readout pixels) and
    every spoke passes through k = 0.
    """
    _check_positive_int("n_spokes", n_spokes)
    _check_positive_int("n_readout", n_readout)
    angles = np.mod(np.arange(n_spokes) * GOLDEN_ANGLE, np.pi)
    radii = 2 * np.pi * (np.arange(n_readout) - n_readout // 2) / n_readout
    kh = np.sin(angles)[:, None] * radii  # (n_spokes, n_readout)
    kw = np.cos(angles)[:, None] * radii
    return _as_traj(kh, kw)


def radial(image_size: int, acceleration: float = 1.0, oversampling: int = 2):
    """Golden-angle radial trajectory for an image_size x image_size image:
    full_radial_spokes(image_size) / acceleration spokes (rounded, >= 1) of
    oversampling * image_size readout samples."""
    if not acceleration > 0:
        raise ValueError(f"acceleration must be > 0 (got {acceleration!r}).")
    n_spokes = max(1, int(round(full_radial_spokes(image_size) / acceleration)))
    return golden_angle_radial(n_spokes, oversampling * image_size)


def spiral_interleaf(n_readout: int, n_turns: float, density: float) -> np.ndarray:
    """One spiral arm, (n_readout, 2): radius pi * tau ** density, angle
    2 pi n_turns tau, for tau = j / n_readout in [0, 1).

    density = 1 is an Archimedean spiral (uniform density); density > 1 packs
    the turns near the centre (variable density, denser sampling of the
    low frequencies, as in Lee et al. MRM 2003 / Kim et al. MRM 2003).
    """
    tau = np.arange(n_readout) / n_readout
    radius = np.pi * tau**density
    angle = 2 * np.pi * n_turns * tau
    return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)


def variable_density_spiral(
    image_size: int,
    n_interleaves: int,
    acceleration: int = 1,
    density: float = 2.0,
) -> np.ndarray:
    """Variable-density spiral for an image_size x image_size image.

    The fully sampled design has `n_interleaves` rotated copies of one arm
    whose turns are spaced at Nyquist (2 pi / image_size between neighbouring
    interleaves) at the edge of k-space; its readout samples are at most a
    Nyquist distance apart along the arm (exactly at the edge, where the arm
    is fastest: a gradient-amplitude-limited readout). With acceleration R, every R-th
    interleaf is kept (n_interleaves / R of them, R must divide
    n_interleaves), the same arms as the full design: (n_interleaves / R *
    n_readout, 2).
    """
    _check_positive_int("image_size", image_size)
    _check_positive_int("n_interleaves", n_interleaves)
    _check_positive_int("acceleration", acceleration)
    if n_interleaves % acceleration:
        raise ValueError(
            f"acceleration {acceleration} must divide n_interleaves "
            f"{n_interleaves}: every acceleration-th interleaf is kept."
        )
    if not density >= 1:
        raise ValueError(f"density must be >= 1 (got {density!r}).")
    # At the edge one arm advances pi * density / n_turns per turn: n_turns
    # such that n_interleaves arms are 2 pi / image_size apart there.
    n_turns = density * image_size / (2 * n_interleaves)
    # Samples uniform in tau; the arm is fastest at the edge, where
    # |dk / dtau| = pi sqrt(density^2 + (2 pi n_turns)^2): one Nyquist step there.
    speed = np.pi * np.hypot(density, 2 * np.pi * n_turns)
    n_readout = int(np.ceil(speed / (2 * np.pi / image_size)))
    arm = spiral_interleaf(n_readout, n_turns, density)
    angles = 2 * np.pi * np.arange(0, n_interleaves, acceleration) / n_interleaves
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    kh = cos * arm[:, 0] + sin * arm[:, 1]  # (n_shots, n_readout)
    kw = -sin * arm[:, 0] + cos * arm[:, 1]
    return _as_traj(kh, kw)


TRAJECTORIES = ("radial", "spiral")
SPIRAL_INTERLEAVES = 32  # interleaves of the fully sampled spiral design
SPIRAL_DENSITY = 2.0


@dataclass(frozen=True)
class NonCartesianSampling:
    """How a fully sampled image is sampled off the grid: the non-Cartesian
    counterpart of masks.CartesianSampling.

    trajectory: "radial" (golden-angle spokes, `radial`) or "spiral"
    (`variable_density_spiral` with SPIRAL_INTERLEAVES interleaves at full
    sampling, SPIRAL_DENSITY); acceleration: R, the fraction 1 / R of the
    shots of the fully sampled design (for spirals R must divide
    SPIRAL_INTERLEAVES). The same trajectory serves every slice and volume.
    """

    trajectory: str
    acceleration: int

    def __post_init__(self):
        if self.trajectory not in TRAJECTORIES:
            raise ValueError(
                f"Unknown trajectory {self.trajectory!r}: use one of "
                f"{TRAJECTORIES} (or a CartesianSampling)."
            )
        if not self.acceleration >= 1:
            raise ValueError(f"acceleration must be >= 1 (got {self.acceleration!r}).")

    @lru_cache(maxsize=8)  # noqa: B019 (frozen, hashable, few instances)
    def traj(self, image_size: int) -> np.ndarray:
        """(K, 2) float32 radians for an image_size x image_size image."""
        if self.trajectory == "radial":
            traj = radial(image_size, self.acceleration)
        else:
            traj = variable_density_spiral(
                image_size, SPIRAL_INTERLEAVES, self.acceleration, SPIRAL_DENSITY
            )
        traj.setflags(write=False)  # cached: shared by every caller
        return traj


def make_sampling(trajectory: str, acceleration: int, mask_type: str = "random",
                  dataset: str | None = None):
    """A dataset's `sampling`: CartesianSampling(mask_type, acceleration) for
    trajectory "cartesian", else NonCartesianSampling(trajectory, acceleration)
    (mask_type unused). dataset: the dataset's name; an acceleration without
    fastMRI's centre fraction is then refused naming its `acceleration`
    parameter and the values it takes."""
    if trajectory == "cartesian":
        if acceleration not in DEFAULT_CENTER_FRACTIONS and dataset is not None:
            allowed = " or ".join(map(str, DEFAULT_CENTER_FRACTIONS))
            raise ValueError(
                f"{dataset}: acceleration={acceleration!r} is not available for "
                f"Cartesian masks, which take fastMRI's centre fractions: use "
                f"acceleration={allowed} (e.g. -d \"{dataset}[acceleration="
                f"{max(DEFAULT_CENTER_FRACTIONS)}]\"), or trajectory=\"radial\", "
                "which takes any acceleration.")
        return CartesianSampling(mask_type, acceleration)
    return NonCartesianSampling(trajectory, acceleration)
