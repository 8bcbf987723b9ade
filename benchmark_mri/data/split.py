"""A split's measurements as solvers get them: one `Split` over a volume source.

The objective hands solvers two Splits (test, train). A Split is a sequence
of `Measurement`s: `len(split)`, `split[i]`, `for m in split`. What a solver
must know before reading any k-space is metadata: `names`, `n_slices(i)`,
`target_size(i)`, `acquisition(i)` (what slices must share to be batched),
`is_cartesian`, `has_targets`, `setting` (acceleration and mask type, what
result rows record). `with_sampling` measures the same volumes with
another sampling (a training split under other settings). A solver that
works slice by slice goes through a volume in chunks (`chunks(i)`,
`map(fn)`): memory then holds one chunk of slices, not a volume. Learned
solvers stream their training slices through `training_slice(i, s, draw)`
(learned/data.py's DataLoader) and key their checkpoints by `fingerprint()`.

The source (data/sources.py) says how to read a volume; the Split measures
it (data.measure: masks seeded per slice, so a chunk or a slice read alone
gets the masks it has in the whole volume). Measurements of a source in
memory are kept; those of files are read when asked and dropped after (the
last volume is kept for a repeated access). Coil maps are deferred: a
measurement's maps are computed, or read from the disk cache for files,
when a solver first reads `m.smaps` (data/coil_maps.py); `with_smaps`
gives the same split with another estimator. The fingerprint of files is
their identities (data/identity.py), the selected slices, the sampling and
the maps estimator, never their bytes; that of volumes in memory is their
measurements' content.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import replace

import torch

from ..physics.trajectories import NonCartesianSampling
from ..progress import Progress
from .coil_maps import CACHED_METHODS, CoilMaps
from .maps_cache import MapsCache, maps_key
from .measure import measure, slice_masks
from .noncartesian import ShotSampling
from .sources import VolumeSource, source_of
from .types import Measurement, Volume

# Slices of a chunk: as many as fit in this many bytes of k-space (one at
# least); what `chunks` and `map` hold of a volume read from files.
CHUNK_BYTES = 2**27


class Targets(Sequence):
    """A split's references as a sequence: element i is read when indexed
    (`available(i)` says whether there is one, without reading it)."""

    def __init__(self, split: "Split"):
        self.split = split

    def __len__(self):
        return len(self.split)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.split.target(i)

    def available(self, i: int) -> bool:
        return self.split.has_reference(i)


class Subset(Sequence):
    """Elements `indices` of a sequence, read when indexed."""

    def __init__(self, items, indices):
        self.items, self.indices = items, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.items[self.indices[i]]


class Split(Sequence):
    """Measurements of a volume source (module doc).

    source: a data.sources.VolumeSource; sampling: the Cartesian, retrospective
    non-Cartesian or shot sampling; keep_target: measurements carry their
    targets (training split); maps: the CoilMaps provider of Cartesian maps.
    """

    def __init__(self, source: VolumeSource, sampling, keep_target: bool,
                 maps: CoilMaps | None = None):
        self.source, self.sampling, self.keep_target = source, sampling, keep_target
        self.maps = maps or CoilMaps("acs")
        self.names = list(source.names)
        self._kept: dict[int, Measurement] = {}

    # What a solver knows without reading ------------------------------------

    def __len__(self):
        return len(self.source)

    def n_slices(self, i: int) -> int:
        return self.source.n_slices(i)

    @property
    def n_slices_total(self) -> int:
        return sum(self.n_slices(i) for i in range(len(self)))

    def target_size(self, i: int) -> tuple[int, int]:
        return self.source.target_size(i)

    @property
    def in_memory(self) -> bool:
        """Whether the measurements are kept (a source in memory): else read
        from files when asked."""
        return self.source.in_memory

    @property
    def is_cartesian(self) -> bool:
        return not isinstance(self.sampling, NonCartesianSampling | ShotSampling)

    @property
    def has_targets(self) -> bool:
        return self.keep_target and all(self.source.has_reference(i)
                                        for i in range(len(self)))

    def acquisition(self, i: int) -> tuple:
        """What slices must share to be batched: k-space shape (C, H, W) or
        (C, K), image grid (H, W), target size (h, w), trajectory digest
        ("" for Cartesian data)."""
        if isinstance(self.sampling, ShotSampling):  # a raw scan's own trajectory
            m = self[i]
            traj = hashlib.sha1(m.traj.tobytes()).hexdigest()
            return (*m.y.shape[1:], *m.image_shape, *m.target_size, traj)
        C, H, W = self.source.kspace_shape(i)
        h, w = self.target_size(i)
        if isinstance(self.sampling, NonCartesianSampling):
            traj = self.sampling.traj(max(h, w))
            return (C, len(traj), h, w, h, w, hashlib.sha1(traj.tobytes()).hexdigest())
        return (C, H, W, H, W, h, w, "")

    @property
    def budget(self):
        """What a proposed mask may sample (data.acquisition.MaskBudget) on
        the test split the objective lends; None elsewhere."""
        lender = getattr(self.source, "acquisition", None)
        return None if lender is None else lender.budget

    def remeasure(self, proposal) -> "Split":
        """The test volumes re-measured by the objective with `proposal` (a
        data.acquisition.ProposedMask), checked against `budget` first; the
        mask then recorded with the solver's results."""
        lender = getattr(self.source, "acquisition", None)
        if lender is None:
            raise ValueError("Only the test split the objective hands a solver can "
                             "be re-measured (a training split is read fully "
                             "sampled: Split.fully_sampled).")
        return lender.measure(proposal)

    def slices(self) -> list[tuple[int, int]]:
        """Every (volume, slice) pair, in order."""
        return [(i, s) for i in range(len(self)) for s in range(self.n_slices(i))]

    # Reading ----------------------------------------------------------------

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        if i not in self._kept:
            if not self.source.in_memory:
                self._kept.clear()  # drop the previous volume first
            self._kept[i] = self._measure(i)
        return self._kept[i]

    def _measure(self, i: int, first: int = 0, count: int | None = None,
                 draw: str | None = None) -> Measurement:
        volume = self.source.read(i, first, count, with_target=self.keep_target)
        keys = self._keys(i, volume) if draw is None else None
        return measure(volume, self.sampling, self.keep_target, self.maps, keys,
                       draw, target_size=self.target_size(i))

    def chunk_slices(self, i: int, multiple_of: int = 1) -> int:
        """Slices per chunk of volume i: those of CHUNK_BYTES of k-space, a
        multiple of `multiple_of` (a batch size), all of a volume in memory."""
        if self.source.in_memory:
            return self.n_slices(i)
        C, H, W = self.source.kspace_shape(i)
        fit = max(1, CHUNK_BYTES // (8 * C * H * W))
        return max(multiple_of, fit // multiple_of * multiple_of)

    def chunks(self, i: int, multiple_of: int = 1):
        """Volume i as Measurements of consecutive slices (module doc); a
        volume in memory is one chunk."""
        if self.source.in_memory or i in self._kept:
            yield self[i]
            return
        step = self.chunk_slices(i, multiple_of)
        for first in range(0, self.n_slices(i), step):
            yield self._measure(i, first, min(step, self.n_slices(i) - first))

    def map(self, fn, multiple_of: int = 1) -> list:
        """[fn(volume i) for each i], fn applied chunk by chunk and its
        outputs concatenated along slices: how a solver that works slice by
        slice and keeps only its outputs goes through a split."""
        out = []
        with Progress(f"reconstructing {len(self)} volume(s)",
                      self.n_slices_total) as progress:
            for i in range(len(self)):
                out.append(self._volume_of_chunks(i, fn, multiple_of))
                progress.update(out[-1].shape[0])
        return out

    def _volume_of_chunks(self, i, fn, multiple_of):
        """fn of volume i's chunks, written into one output allocated after
        the first chunk (no list of pieces to concatenate: the kept outputs
        then do not scatter among the freed chunks, which kept the process's
        memory growing with the split)."""
        volume, start = None, 0
        for chunk in self.chunks(i, multiple_of):
            x = fn(chunk)
            if volume is None:
                if x.shape[0] == self.n_slices(i):
                    return x
                volume = x.new_empty((self.n_slices(i), *x.shape[1:]))
            volume[start:start + x.shape[0]] = x
            start += x.shape[0]
            del x
        return volume

    def target(self, i: int) -> torch.Tensor | None:
        """The (S, h, w) reference of volume i (None: unscored); the objective's."""
        return self.source.reference(i)

    def has_reference(self, i: int) -> bool:
        return self.source.has_reference(i)

    def targets(self) -> Targets:
        """The references, read one at a time when indexed (see Targets)."""
        return Targets(self)

    def training_slice(self, i: int, s: int, draw: str | None = None) -> dict:
        """Slice s of volume i (fields of Measurement, one slice), read alone
        unless its volume is kept; draw: fresh masks (data.measure.volume_mask)
        re-measured from the fully sampled slice, with ACS maps."""
        if draw is not None and not self.is_cartesian:
            raise ValueError("Fresh training masks (train_masks='random') are "
                             "Cartesian masks; a non-Cartesian trajectory is fixed.")
        if draw is None and self.source.in_memory:
            return slice_fields(self[i], s)
        return slice_fields(self._measure(i, s, 1, draw), 0)

    def fully_sampled(self, i: int, s: int) -> Volume:
        """Slice s of volume i as its source holds it: a Volume of one slice,
        fully sampled k-space (1, C, H, W) and its target (1, h, w). Training
        splits only: a solver that learns its own mask measures them itself;
        test k-space is measured by the objective (`remeasure`)."""
        if not self.keep_target:
            raise ValueError(
                "Only training slices are read fully sampled: the test split is "
                "measured by the objective (a solver proposes a mask through "
                "test.remeasure).")
        return self.source.read(i, s, 1, with_target=True)

    def with_smaps(self, method: str) -> "Split":
        """The split with Cartesian maps by `method` (the same source; the
        disk cache is shared)."""
        if method == self.maps.method or not self.is_cartesian:
            return self
        return Split(self.source, self.sampling, self.keep_target,
                     CoilMaps(method, self.maps.cache, self.maps.log))

    def with_sampling(self, sampling) -> "Split":
        """The same volumes measured with another sampling (the same source
        and maps provider): a training split under other settings
        (learned/lifecycle.py's TrainSampling)."""
        if sampling == self.sampling:
            return self
        return Split(self.source, sampling, self.keep_target, self.maps)

    @property
    def setting(self) -> tuple[float, str | None]:
        """(acceleration, mask type) of the split's sampling (sampling_setting)."""
        return sampling_setting(self.sampling)

    def head(self, n_slices: int = 1) -> "Split":
        """The split of the first n_slices of the first volume (what
        `benchmark-mri plan` measures throughputs on)."""
        return Split(self.source.head(n_slices), self.sampling, self.keep_target,
                     self.maps)

    # Identity ---------------------------------------------------------------

    def fingerprint(self) -> str:
        """SHA-256 (hex, 16 chars) of what determines this split's
        measurements (module doc): the checkpoint key of its training."""
        if self.source.in_memory:
            return fingerprint_measurements(self[i] for i in range(len(self)))
        digest = hashlib.sha256(repr((self.sampling, self.maps.method)).encode())
        for i in range(len(self)):
            digest.update(repr(self.source.selection_key(i)).encode())
        return digest.hexdigest()[:16]

    # Coil maps through the cache -----------------------------------------------

    def _keys(self, i: int, volume) -> list[str] | None:
        """The cache keys of the slices of `volume` (read from volume i), or
        None when the maps are not cached (volumes in memory, ACS maps)."""
        if not self._cached_maps():
            return None
        mask = slice_masks(volume.name, volume.kspace.shape[0], volume.kspace.shape[-1],
                           volume.acquired_columns, self.sampling, volume.first_slice)
        return self._slice_keys(i, volume.first_slice, mask)

    def _slice_keys(self, i, first, mask):
        identity = self.source.file_identity(i)
        return [maps_key(identity, self.source.file_slice(i, first + s),
                         mask[s].reshape(-1), self.maps.method)
                for s in range(mask.shape[0])]

    def _cached_maps(self) -> bool:
        return (not self.source.in_memory and self.is_cartesian
                and self.maps.method in CACHED_METHODS)

    def masks(self, i: int) -> torch.Tensor:
        """The (S, 1, 1, W) bool masks of volume i's slices, computed from its
        name and shape (no k-space read); Cartesian splits only."""
        if not self.is_cartesian:
            raise ValueError("A non-Cartesian split has no masks (its samples lie "
                             "along a trajectory).")
        return slice_masks(self.names[i], self.n_slices(i),
                           self.source.kspace_shape(i)[-1],
                           self.source.acquired_columns(i), self.sampling)

    def missing_maps(self, i: int) -> bool:
        """Whether some of volume i's cached maps are still to be computed
        (False when its maps are not cached)."""
        if not self._cached_maps():
            return False
        return not self.maps.cached(self._slice_keys(i, 0, self.masks(i)))

    def prepare_maps(self, log=None) -> int:
        """Compute the maps missing from the cache (reads those volumes only,
        chunk by chunk); returns how many volumes were computed."""
        todo = [i for i in range(len(self)) if self.missing_maps(i)]
        for n, i in enumerate(todo):
            if log is not None:
                log(f"coil maps ({self.maps.method}) of {self.names[i]}: {n + 1} of "
                    f"{len(todo)} volumes to compute")
            for chunk in self.chunks(i):
                chunk.smaps  # noqa: B018 (computes and stores them)
        return len(todo)

    def __getstate__(self):
        # What a DataLoader worker started by spawn receives: no measurement
        # (their deferred maps are not picklable, and workers read their own).
        state = dict(self.__dict__)
        state["_kept"] = {} if not self.source.in_memory else {
            i: m for i, m in self._kept.items() if m.maps_ready}
        return state


def sampling_setting(sampling) -> tuple[float, str | None]:
    """(acceleration, mask type) of a sampling, what result rows record: the
    mask type of Cartesian masks ("random", "equispaced"), the trajectory of
    retrospective non-Cartesian sampling ("radial", "spiral"), "shots" for a
    raw scan's own trajectory (ShotSampling), a solver's proposed mask its
    kind ("learned"; no acceleration of its own: nan); (nan, None) without
    one."""
    if sampling is None:
        return float("nan"), None
    kind = (getattr(sampling, "mask_type", None)
            or getattr(sampling, "trajectory", None)
            or ("shots" if isinstance(sampling, ShotSampling) else None)
            or getattr(sampling, "kind", None))
    return float(getattr(sampling, "acceleration", float("nan"))), kind


def slice_fields(m: Measurement, s: int) -> dict:
    """Slice s of a measurement as the training loader stacks it."""
    return dict(y=m.y[s], smaps=m.smaps[s],
                mask=None if m.mask is None else m.mask[s],
                target=None if m.target is None else m.target[s],
                traj=m.traj, dcf=m.dcf)


def fingerprint_measurements(measurements) -> str:
    """SHA-256 (hex, 16 chars) of in-memory measurements' content."""
    digest = hashlib.sha256()
    for m in measurements:
        digest.update(m.name.encode())
        digest.update(repr(tuple(m.target_size)).encode())
        for t in (m.y, m.mask, m.smaps, m.target):
            if t is None:
                digest.update(b"none")
                continue
            t = t.detach().cpu().contiguous()
            digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def make_split(volumes, sampling, keep_target: bool, smaps: str = "acs",
               cache: MapsCache | None = None, log=None) -> Split:
    """The Split of a dataset's volumes (VolumeRefs or volumes in memory);
    smaps: the Cartesian maps estimator, computed on demand; cache: the disk
    cache of the cached estimators' maps for files; log: said when maps are
    computed."""
    return Split(source_of(volumes), sampling, keep_target, CoilMaps(smaps, cache, log))


class MeasuredSource(VolumeSource):
    """Measurements made elsewhere (scripts, tests): `as_split` wraps them."""

    in_memory = True

    def __init__(self, measurements, targets=None):
        self.measurements = list(measurements)
        self.targets = None if targets is None else list(targets)
        self.names = [m.name for m in self.measurements]

    def n_slices(self, i):
        return self.measurements[i].y.shape[0]

    def target_size(self, i):
        return tuple(self.measurements[i].target_size)

    def reference(self, i):
        if self.targets is not None:
            return self.targets[i]
        return self.measurements[i].target

    def has_reference(self, i):
        return self.reference(i) is not None


class _MeasuredSplit(Split):
    """A Split of measurements made elsewhere (as_split): they are its
    measurements as they are, unless `maps` replaces their Cartesian maps
    (deferred); with no fully sampled volume, no fresh training masks."""

    def __init__(self, source: MeasuredSource, maps: CoilMaps | None = None):
        super().__init__(source, None, keep_target=True, maps=maps)
        self.maps_given = maps is not None
        for i, m in enumerate(source.measurements):
            if maps is not None and m.is_cartesian:
                m = replace(m, smaps=maps.deferred(m.y, m.mask, None, m.name))
            self._kept[i] = m

    @property
    def is_cartesian(self):
        return all(m.is_cartesian for m in self.source.measurements)

    @property
    def has_targets(self):
        return all(m.target is not None for m in self.source.measurements)

    def acquisition(self, i):
        m = self[i]
        traj = "" if m.traj is None else hashlib.sha1(m.traj.tobytes()).hexdigest()
        return (*m.y.shape[1:], *m.image_shape, *m.target_size, traj)

    def fully_sampled(self, i, s):
        raise ValueError("These measurements were made elsewhere: no fully sampled "
                         "volume to read (give the dataset's volumes: make_split).")

    def training_slice(self, i, s, draw=None):
        if draw is not None:
            raise ValueError("Fresh training masks (train_masks='random') need the "
                             "fully sampled Cartesian volumes of the training split.")
        return slice_fields(self[i], s)

    def with_sampling(self, sampling):
        raise ValueError("Measurements made elsewhere cannot be measured again with "
                         "another sampling: that needs the fully sampled volumes "
                         "of a Split (data.split.make_split).")

    def with_smaps(self, method):
        if self.maps_given and self.maps.method == method:
            return self
        return _MeasuredSplit(self.source, CoilMaps(method))


def as_split(measurements, targets=None) -> Split:
    """A Split as it is; a list of Measurement (with `targets`, the
    references of a test split) as a Split of them."""
    if isinstance(measurements, Split):
        return measurements
    return _MeasuredSplit(MeasuredSource(measurements, targets))


__all__ = ["CHUNK_BYTES", "Split", "Subset", "Targets", "as_split", "make_split",
           "fingerprint_measurements", "sampling_setting", "slice_fields"]
