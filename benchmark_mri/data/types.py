"""What flows from datasets to the objective, and from the objective to solvers."""

from dataclasses import dataclass, field

import numpy as np
import torch

from ..physics import DensityWeighted, LinearOperator, NufftSense, Sense
from ..physics.density import uniform_dcf


@dataclass(frozen=True)
class Volume:
    """A fully sampled acquisition, as a Dataset provides it.

    kspace: (S, C, H, W) complex64, centred (single-coil data has C = 1).
    target: (S, h, w) float32 magnitude reference (RSS of the fully sampled
        coil images, cropped like fastMRI's), or None when there is none.
    acquired_columns: [start, stop) of the phase-encode columns (last axis)
        the scanner acquired; the others are zero padding that no mask may
        sample (fastMRI's padding_left / padding_right). None: all columns.
    simulation: for a simulated volume (the phantom), what off-grid samples
        are computed from (data.phantom.FineGridSimulation), so that
        non-Cartesian data do not come from the NUFFT solvers invert; None
        for real data.
    first_slice: index of kspace[0] among the volume's selected slices (0
        unless a part of them was read, e.g. one streamed training slice):
        masks are drawn per (name, first_slice + s), so a slice read alone gets
        the mask it has in the whole volume.
    """

    name: str
    kspace: torch.Tensor
    target: torch.Tensor | None
    acquired_columns: tuple[int, int] | None = None
    simulation: object | None = None
    first_slice: int = 0


@dataclass(frozen=True)
class Measurement:
    """One undersampled volume, as a solver sees it.

    y: (S, C, H, W) complex64 k-space, zero where not sampled; for
        non-Cartesian data (traj is not None), (S, C, K) samples.
    mask: (S, 1, 1, W) bool, True on sampled columns; None for non-Cartesian data.
    smaps: (S, C, H, W) complex64 coil maps estimated from the autocalibration
        region of `y` (never the true maps). May be given as a function of no
        argument: it is called when `smaps` is first read, and its result
        kept (`maps_ready` says whether that happened), so that maps nobody
        reads are never estimated (data/coil_maps.py).
    target_size: (h, w) of the reference: reconstructions are centre-cropped to it.
    target: (S, h, w) float32 on the training split; None on the test split.
    traj: (K, 2) float32 radians in [-pi, pi), the same for every slice, or
        None for Cartesian data; dcf: (K,) float32 density compensation in
        Nyquist cells (physics.density) for non-Cartesian data.
    """

    name: str
    y: torch.Tensor
    mask: torch.Tensor
    smaps: torch.Tensor = field(repr=False)  # or a function: see above
    target_size: tuple[int, int]
    target: torch.Tensor | None = None
    traj: np.ndarray | None = None
    dcf: torch.Tensor | None = None

    @property
    def is_cartesian(self) -> bool:
        return self.traj is None

    @property
    def maps_ready(self) -> bool:
        """Whether the coil maps exist (given, or computed by a first read)."""
        return not _is_deferred(self.__dict__["_smaps"])

    def sense(self) -> Sense | NufftSense:
        """The SENSE operator of this volume (image (S, H, W) -> k-space
        (S, C, H, W), or samples (S, C, K) for non-Cartesian data)."""
        if self.traj is not None:
            return NufftSense(self.traj, self.smaps)
        return Sense(self.mask, self.smaps)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the reconstruction grid (read without computing maps on
        Cartesian data: that of the k-space)."""
        if self.traj is None:
            return tuple(self.y.shape[-2:])
        return tuple(self.smaps.shape[-2:])

    def data_consistency(self, density_compensation: bool = True
                         ) -> tuple[LinearOperator, torch.Tensor]:
        """(A, b) such that 1/2 ||A x - b||^2 is this volume's data term
        (`data_term`): on non-Cartesian data weighted by sqrt(dcf) by default,
        so that A^H b is the density-compensated adjoint."""
        return data_term(self.y, self.smaps, self.mask, self.traj, self.dcf,
                         density_compensation)


def _is_deferred(value) -> bool:
    return callable(value) and not isinstance(value, torch.Tensor)


class _ComputedOnFirstRead:
    """A dataclass field that may be set to a function of no argument: the
    function is called when the field is first read and its value kept."""

    def __set_name__(self, owner, name):
        self.slot = f"_{name}"

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.slot]
        if _is_deferred(value):
            value = obj.__dict__[self.slot] = value()
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


# Set after the dataclass is made, so that the generated __init__ (and
# dataclasses.replace) go through it; replace() with a new `smaps` never
# computes the old ones.
Measurement.smaps = _ComputedOnFirstRead()
Measurement.smaps.__set_name__(Measurement, "smaps")


def data_term(y, smaps, mask=None, traj=None, dcf=None,
              density_compensation: bool = True):
    """(physics, y) such that 1/2 ||physics x - y||^2 is the data term of B
    slices of one acquisition (y (B, C, H, W), or (B, C, K) samples).

    Cartesian (traj None): Sense(mask, smaps) and y. Non-Cartesian: the NUFFT
    SENSE operator on `traj`, with both sides weighted by sqrt(w)
    (physics.DensityWeighted): with density_compensation, w = dcf (NC-PDNet,
    Ramzi et al. 2022), so that A^H w y is the density-compensated adjoint and
    the gradient A^H w (A x - y) weighs k-space evenly; without, the plain
    data term, w = 1 / ||A^H A|| uniform (physics.uniform_dcf: only scaled
    so that unit steps are stable), which over-weights the densely sampled
    k-space centre.
    """
    if traj is None:
        return Sense(mask, smaps), y
    if not density_compensation:
        dcf = _uniform_dcf(traj, tuple(smaps.shape[-2:]))
    return DensityWeighted(NufftSense(traj, smaps), dcf), dcf.sqrt() * y


_uniform_cache: dict = {}


def _uniform_dcf(traj, shape):
    """physics.uniform_dcf, computed once per trajectory and shape."""
    key = (traj.tobytes(), shape)
    if key not in _uniform_cache:
        _uniform_cache.clear()
        _uniform_cache[key] = uniform_dcf(traj, shape)
    return _uniform_cache[key]
