"""A budgeted acquisition a solver may choose: the test split re-measured
with a mask the solver proposes, inside the dataset's budget.

The objective measures, a solver proposes. The objective keeps the test
split's fully sampled source to itself and lends solvers an `Acquisition`:
`acquisition.split()` is the test split as every solver gets it (measured
with the dataset's masks), `acquisition.measure(proposal)` the same test
volumes re-measured with a `ProposedMask` (checked against the budget
first). Both are Splits over a `SealedSource`, which reads the test volumes
already undersampled and without their reference, so nothing a solver is
handed (`split.source.read(i)` included) yields fully sampled test k-space
or a target. A solver proposes through the split it was handed:
`test.budget` (the MaskBudget) and `test.remeasure(proposal)`, which call
the Acquisition (a training split has neither). `Acquisition.record()` is
what the objective writes in each result row: the sampled fraction and
whether the mask is the dataset's or the solver's (`mask_name()` and the
masks themselves go to the saved results, for the report's gallery and
sampling view).

The budget (`MaskBudget`, from the dataset's CartesianSampling): at most
ceil(W / R) sampled columns of a W-column k-space, the dataset's centre
(ACS) columns always among them, so that coil maps and GRAPPA still
calibrate. A proposal is refused, naming the numbers, when it samples more,
is of another width than a test volume's k-space, or leaves out an ACS
column.

Open to other proposals: `Acquisition.measure` dispatches on the proposal's
type (`_CHECKS`); a non-Cartesian trajectory proposal (e.g. SPARKLING-like
shots under gradient and slew limits) would add its type, its budget check
(samples or readout time, hardware limits) and a sampling that measures it,
through the same call. Python keeps nothing private: a solver that digs in
underscored attributes could reach the fully sampled source; the protocol
never hands it.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..physics import CartesianSampling
from .measure import volume_mask
from .sources import VolumeSource
from .split import Split
from .types import Volume


class ProposedMask:
    """Cartesian phase-encode columns a solver proposes for the test split.

    columns: a (W,) bool array, one mask for every test slice W columns
        wide, or {W: (W,) bool} for several widths;
    slices: {volume name: (S, W) bool}, one mask per selected slice of that
        volume (a volume named here takes these, the others `columns`);
    kind: what the mask is, recorded with each result ("learned", ...).

    A sampling like physics.CartesianSampling: `mask(volume, n_slices,
    n_cols, first)` gives the proposed columns instead of drawing them.
    """

    def __init__(self, columns=None, slices: Mapping | None = None,
                 kind: str = "proposed"):
        if columns is not None and not isinstance(columns, Mapping):
            columns = {len(np.asarray(columns).reshape(-1)): columns}
        self.columns = {int(w): _bools(m, f"columns[{w}]")
                        for w, m in (columns or {}).items()}
        self.slices = {str(v): _bools(m, f"slices[{v!r}]", ndim=2)
                       for v, m in (slices or {}).items()}
        self.kind = str(kind)
        if not (self.columns or self.slices):
            raise ValueError("A ProposedMask needs columns or slices to sample.")

    def __repr__(self):
        digest = hashlib.sha256()
        for key, mask in [*sorted(self.columns.items()), *sorted(self.slices.items())]:
            digest.update(repr((key, mask.shape)).encode())
            digest.update(np.packbits(mask).tobytes())
        return f"ProposedMask({self.kind!r}, sha256 {digest.hexdigest()[:16]})"

    def slice_columns(self, volume: str, n_slices: int, n_cols: int,
                      first: int = 0) -> np.ndarray:
        """(n_slices, n_cols) bool: the columns of slices first .. first +
        n_slices - 1 of `volume` (unchecked: see MaskBudget.check)."""
        if volume in self.slices:
            return self.slices[volume][first:first + n_slices]
        return np.broadcast_to(self.columns[n_cols], (n_slices, n_cols))

    def mask(self, volume: str, n_slices: int, n_cols: int, first: int = 0,
             draw: str | None = None) -> torch.Tensor:
        """(S, 1, 1, W) bool masks, as CartesianSampling.mask gives them."""
        if draw is not None:
            raise ValueError("A proposed mask is the test split's: it draws no "
                             "fresh training masks.")
        columns = self.slice_columns(volume, n_slices, n_cols, first)
        return torch.from_numpy(np.array(columns, dtype=bool))[:, None, None, :]


def _bools(mask, name: str, ndim: int = 1) -> np.ndarray:
    mask = np.asarray(mask.detach().cpu() if torch.is_tensor(mask) else mask)
    if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
        raise ValueError(f"ProposedMask {name}: a mask holds True / False (or 0 / "
                         f"1) per column; got values of dtype {mask.dtype}.")
    mask = mask.astype(bool)
    if mask.ndim != ndim:
        shape = "(W,)" if ndim == 1 else "(S, W)"
        raise ValueError(f"ProposedMask {name}: expected a {shape} mask, got shape "
                         f"{mask.shape}.")
    return mask


@dataclass(frozen=True)
class MaskBudget:
    """What a proposed Cartesian mask may sample: the dataset's
    CartesianSampling gives the acceleration R and the ACS block."""

    sampling: CartesianSampling

    def max_columns(self, n_cols: int) -> int:
        return self.sampling.max_columns(n_cols)

    def acs_columns(self, n_cols: int) -> tuple[int, int]:
        return self.sampling.acs_columns(n_cols)

    def check(self, proposal: ProposedMask, split: Split) -> None:
        """Raise ValueError, naming the numbers, unless every test slice of
        `split` gets a mask of its width, within the budget, with the ACS
        columns."""
        for i, name in enumerate(split.names):
            n_cols, n_slices = split.source.kspace_shape(i)[-1], split.n_slices(i)
            where = f"test volume {name!r}"
            if name in proposal.slices:
                masks = proposal.slices[name]
                if masks.shape[0] != n_slices:
                    raise ValueError(
                        f"The proposed mask of {where} has {masks.shape[0]} slices; "
                        f"the volume has {n_slices}: give one (W,) mask per slice.")
            elif n_cols in proposal.columns:
                masks = proposal.columns[n_cols][None]
            else:
                widths = sorted({m.shape[-1] for m in proposal.columns.values()})
                raise ValueError(
                    f"The proposed mask is {_widths(widths)} wide; the k-space of "
                    f"{where} has {n_cols} columns: propose a {n_cols}-column mask "
                    "(or one per slice of that volume).")
            for s, columns in enumerate(masks):
                at = where + (f", slice {s}" if name in proposal.slices else "")
                self._check_columns(columns, n_cols, at)

    def _check_columns(self, columns: np.ndarray, n_cols: int, where: str):
        if columns.shape[-1] != n_cols:
            raise ValueError(
                f"The proposed mask of {where} has {columns.shape[-1]} columns; its "
                f"k-space has {n_cols}: propose a {n_cols}-column mask.")
        n, limit = int(columns.sum()), self.max_columns(n_cols)
        if n > limit:
            raise ValueError(
                f"The proposed mask of {where} samples {n} of {n_cols} columns; the "
                f"budget at acceleration {self.sampling.acceleration:g} is {limit} "
                f"(ceil({n_cols} / {self.sampling.acceleration:g})): sample at most "
                f"{limit}, the ACS columns included.")
        start, stop = self.acs_columns(n_cols)
        missing = np.flatnonzero(~columns[start:stop]) + start
        if missing.size:
            raise ValueError(
                f"The proposed mask of {where} leaves out {missing.size} of the "
                f"{stop - start} ACS columns {start}..{stop - 1} (centre fraction "
                f"{self.sampling.center_fraction:g} of {n_cols} columns): columns "
                f"{', '.join(map(str, missing[:8]))}"
                f"{' ...' if missing.size > 8 else ''}. The dataset's ACS columns "
                "are always sampled, so that coil maps and GRAPPA calibrate.")


def _widths(widths) -> str:
    return " or ".join(f"{w} columns" for w in widths) if widths else "of no width"


class SealedSource(VolumeSource):
    """A test source as solvers may read it: each volume undersampled by
    `sampling` (Cartesian: k-space x mask, zero elsewhere) and without its
    reference. Non-Cartesian volumes are measured from the fully sampled
    images when read (data.measure), so they pass through as they are; only
    their reference is withheld. `acquisition`: the Acquisition lent with it."""

    def __init__(self, source: VolumeSource, sampling, acquisition=None):
        self._source, self._sampling = source, sampling
        self.acquisition = acquisition
        self.names, self.in_memory = list(source.names), source.in_memory

    def n_slices(self, i):
        return self._source.n_slices(i)

    def kspace_shape(self, i):
        return self._source.kspace_shape(i)

    def target_size(self, i):
        return self._source.target_size(i)

    def acquired_columns(self, i):
        return self._source.acquired_columns(i)

    def file_identity(self, i):
        return self._source.file_identity(i)

    def file_slice(self, i, s):
        return self._source.file_slice(i, s)

    def selection_key(self, i):
        return self._source.selection_key(i)

    def read(self, i, first=0, count=None, with_target=False):
        volume = self._source.read(i, first, count, with_target=False)
        if not isinstance(volume, Volume) or not _is_cartesian(self._sampling):
            return volume
        mask = volume_mask(volume, self._sampling)
        # A file's k-space was just read for this call: masked in place (no
        # second copy of it); an in-memory volume is shared, so it is copied.
        kspace = (volume.kspace * mask if self.in_memory
                  else volume.kspace.mul_(mask))
        return replace(volume, kspace=kspace, target=None)

    def reference(self, i):
        return None

    def has_reference(self, i):
        return False

    def head(self, n_slices):
        return SealedSource(self._source.head(n_slices), self._sampling,
                            self.acquisition)


def _is_cartesian(sampling) -> bool:
    return isinstance(sampling, CartesianSampling | ProposedMask)


class Acquisition:
    """The test split's acquisition (module doc): made once by the objective,
    lent to each solver in turn (`reset` before each).

    test: the objective's test Split (its fully sampled source is never handed
    out); sampling: the dataset's sampling; `in_force` is the proposal the
    last `measure` accepted (None: the dataset's masks).
    """

    def __init__(self, test: Split, sampling):
        self._test, self.sampling = test, sampling
        self.budget = (MaskBudget(sampling) if isinstance(sampling, CartesianSampling)
                       else None)
        self.in_force: ProposedMask | None = None
        self._dataset_split = None
        self._fractions: dict = {}

    def split(self) -> Split:
        """The test split measured with the dataset's masks (made once, shared)."""
        if self._dataset_split is None:
            self._dataset_split = self._sealed(self.sampling)
        return self._dataset_split

    def measure(self, proposal) -> Split:
        """The test split re-measured with `proposal` (a ProposedMask), once
        it is checked against the budget; it is then the mask in force."""
        check = _CHECKS.get(type(proposal))
        if check is None:
            raise TypeError(
                f"Acquisition.measure takes a ProposedMask (Cartesian columns); got "
                f"{type(proposal).__name__}.")
        check(self, proposal)
        self.in_force = proposal
        return self._sealed(proposal)

    def reset(self) -> None:
        """Back to the dataset's masks (the objective, before each solver)."""
        self.in_force = None

    def _sealed(self, sampling) -> Split:
        return Split(SealedSource(self._test.source, sampling, self), sampling,
                     False, self._test.maps)

    def _check_mask(self, proposal: ProposedMask) -> None:
        if self.budget is None or not self._test.is_cartesian:
            raise ValueError(
                f"A Cartesian mask cannot re-measure this test split: it is "
                f"non-Cartesian ({type(self.sampling).__name__}); trajectory "
                "proposals are not supported yet.")
        self.budget.check(proposal, self._test)

    def record(self) -> dict:
        """What a result row says of its measurements (numbers, as benchopt's
        result columns): `sampled_fraction` (sampled columns / W, mean over
        test slices; NaN for non-Cartesian data) and `solver_mask` (0: the
        dataset's masks, 1: the solver's proposal)."""
        return dict(sampled_fraction=self.sampled_fraction(self._in_force()),
                    solver_mask=int(self.in_force is not None))

    def _in_force(self):
        """The sampling the test split is measured with now."""
        return self.sampling if self.in_force is None else self.in_force

    def _measured_with(self, sampling) -> Split:
        """The sealed test split under `sampling` (the dataset's: the shared one)."""
        return self.split() if sampling is self.sampling else self._sealed(sampling)

    def mask_name(self) -> str:
        """The name of the mask in force: the dataset's mask type (or
        trajectory), or the proposal's kind ("learned", ...)."""
        if self.in_force is not None:
            return self.in_force.kind
        return str(getattr(self.sampling, "mask_type", None)
                   or getattr(self.sampling, "trajectory", None)
                   or type(self.sampling).__name__)

    def sampled_fraction(self, sampling) -> float:
        """Mean over test slices of the fraction of columns sampled."""
        key = repr(sampling)
        if key not in self._fractions:
            if not (self._test.is_cartesian and _is_cartesian(sampling)):
                return float("nan")
            split = self._measured_with(sampling)
            total = sum(float(split.masks(i).float().mean(-1).sum())
                        for i in range(len(split)))
            self._fractions[key] = total / max(split.n_slices_total, 1)
        return self._fractions[key]

    def gallery_masks(self, n: int) -> list:
        """The (S, W) bool masks in force of the first n test volumes (None
        for non-Cartesian data): what the gallery draws."""
        sampling = self._in_force()
        if not (self._test.is_cartesian and _is_cartesian(sampling)):
            return [None] * n
        split = self._measured_with(sampling)
        return [split.masks(i)[:, 0, 0, :].numpy() for i in range(n)]


_CHECKS = {ProposedMask: Acquisition._check_mask}
