"""A split's measurements as solvers get them: in memory, or read lazily.

The objective hands solvers two `Split`s (test, train). A Split is a
sequence of `Measurement`s: `len(split)`, `split[i]`, `for m in split`;
iterating holds one volume at a time. What a solver must know before reading
any k-space is metadata: `names`, `n_slices(i)`, `target_size(i)`,
`acquisition(i)` (what slices must share to be batched), `is_cartesian`,
`has_targets`. Learned solvers stream their training slices through
`training_slice(i, s, draw)` (learned/data.py's DataLoader) and key their
checkpoints by `fingerprint()`.

- `MemorySplit`: measurements computed once, kept in memory (the phantom,
  raw non-Cartesian scans: small by design).
- `LazySplit`: fastMRI files by reference (data.fastmri.VolumeRef); a volume
  is read, undersampled and given its maps when a solver asks for it, and
  dropped after (one volume is kept for a repeated access). Maps by an
  estimator in CACHED_METHODS (ESPIRiT) come from the disk cache
  (data/maps_cache.py), computed once per slice; `prepare_maps()` fills it.
  Its fingerprint is the files' identities (data/identity.py), the selected
  slices, the sampling and the maps estimator, never their bytes.
"""

import hashlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import replace

import torch

from ..physics.trajectories import NonCartesianSampling
from .fastmri import VolumeRef
from .identity import file_identity
from .maps_cache import MapsCache, maps_key
from .measure import measure, slice_masks
from .smaps import estimate_smaps
from .types import Measurement

CACHED_METHODS = ("espirit",)


class Split(Sequence):
    """The common interface (module doc); subclasses define the reading."""

    names: list[str]

    def target(self, i: int) -> torch.Tensor | None:
        """The (S, h, w) reference of volume i (None: unscored); the objective's."""
        raise NotImplementedError

    def targets(self) -> "Targets":
        """The references, read one at a time when indexed (see Targets)."""
        return Targets(self)

    @property
    def is_cartesian(self) -> bool:
        return all(self.acquisition(i)[-1] == "" for i in range(len(self)))

    @property
    def n_slices_total(self) -> int:
        return sum(self.n_slices(i) for i in range(len(self)))

    def map(self, fn) -> list:
        """[fn(m) for m in split], holding one volume at a time (a loop
        variable would keep the previous volume alive while the next is
        read): how a solver that keeps only its outputs goes through a split."""
        return [fn(self[i]) for i in range(len(self))]

    def slices(self) -> list[tuple[int, int]]:
        """Every (volume, slice) pair, in order."""
        return [(i, s) for i in range(len(self)) for s in range(self.n_slices(i))]


class Targets(Sequence):
    """A split's references as a sequence: element i is read when indexed
    (`available(i)` says whether there is one, without reading it)."""

    def __init__(self, split: Split):
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


def _acquisition(m: Measurement) -> tuple:
    """What slices must share to be batched: shapes, and the trajectory."""
    traj = "" if m.traj is None else hashlib.sha1(m.traj.tobytes()).hexdigest()
    return (*m.y.shape[1:], *m.image_shape, *m.target_size, traj)


def _slice_fields(m: Measurement, s: int) -> dict:
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


class MemorySplit(Split):
    """Measurements held in memory.

    measurements: list of Measurement; targets: the references of a test
    split (its measurements carry none), or None; volumes / sampling: the
    fully sampled volumes they were measured from, which fresh training masks
    (train_masks="random") need.
    """

    def __init__(self, measurements, targets=None, volumes=None, sampling=None):
        self.measurements = list(measurements)
        self._targets = None if targets is None else list(targets)
        self.volumes, self.sampling = volumes, sampling
        self.names = [m.name for m in self.measurements]

    @classmethod
    def from_volumes(cls, volumes, sampling, keep_target: bool, smaps: str = "acs"):
        """Measure every volume now (data.measure); a test split keeps the
        references apart from the measurements."""
        measurements = [measure(v, sampling, keep_target, smaps) for v in volumes]
        targets = None if keep_target else [v.target for v in volumes]
        return cls(measurements, targets, list(volumes), sampling)

    def __len__(self):
        return len(self.measurements)

    def __getitem__(self, i):
        return self.measurements[i]

    def n_slices(self, i):
        return self.measurements[i].y.shape[0]

    def target_size(self, i):
        return tuple(self.measurements[i].target_size)

    def acquisition(self, i):
        return _acquisition(self.measurements[i])

    @property
    def has_targets(self):
        return all(m.target is not None for m in self.measurements)

    def has_reference(self, i):
        return self.target(i) is not None

    def target(self, i):
        if self._targets is not None:
            return self._targets[i]
        return self.measurements[i].target

    def training_slice(self, i: int, s: int, draw: str | None = None) -> dict:
        """Slice s of volume i (fields of Measurement, one slice); draw: fresh
        masks (data.measure.volume_mask) re-measured from the fully sampled
        volume, with ACS maps."""
        if draw is None:
            return _slice_fields(self.measurements[i], s)
        if self.volumes is None or not self.is_cartesian:
            raise ValueError("Fresh training masks (train_masks='random') need the "
                             "fully sampled Cartesian volumes of the training split.")
        v = self.volumes[i]
        one = replace(v, kspace=v.kspace[s:s + 1], first_slice=v.first_slice + s,
                      target=None if v.target is None else v.target[s:s + 1])
        return _slice_fields(measure(one, self.sampling, True, "acs", draw=draw), 0)

    def fingerprint(self) -> str:
        return fingerprint_measurements(self.measurements)

    def with_smaps(self, method: str) -> "MemorySplit":
        """The split with maps re-estimated by `method` on Cartesian volumes."""
        measurements = [replace(m, smaps=estimate_smaps(m.y, m.mask, method))
                        if m.is_cartesian else m for m in self.measurements]
        return MemorySplit(measurements, self._targets, self.volumes, self.sampling)


class LazySplit(Split):
    """Volumes of fastMRI files, read when asked (module doc).

    refs: list of data.fastmri.VolumeRef; sampling: the Cartesian or
    retrospective non-Cartesian sampling; keep_target: measurements carry
    their targets (training split); smaps: the Cartesian maps estimator;
    cache: a MapsCache for the estimators of CACHED_METHODS, or None.
    """

    def __init__(self, refs, sampling, keep_target: bool, smaps: str = "acs",
                 cache: MapsCache | None = None):
        self.refs = list(refs)
        self.sampling, self.keep_target, self.smaps = sampling, keep_target, smaps
        self.cache = cache if smaps in CACHED_METHODS else None
        if smaps in CACHED_METHODS and self.cache is None:
            self.cache = MapsCache(None)  # in memory: computed once per run
        self.names = [r.name for r in self.refs]
        self._last = (None, None)
        self._references: dict[int, torch.Tensor] = {}

    def __len__(self):
        return len(self.refs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        if self._last[0] != i:
            self._last = (None, None)  # drop the previous volume first
            volume = self.refs[i].read()
            self._last = (i, measure(volume, self.sampling, self.keep_target,
                                     self.smaps, maps=self._maps_of(i)))
        return self._last[1]

    def n_slices(self, i):
        return self.refs[i].n_slices

    def target_size(self, i):
        return self.refs[i].target_size

    def acquisition(self, i):
        ref = self.refs[i]
        _, C, H, W = ref.info.shape
        h, w = ref.target_size
        if isinstance(self.sampling, NonCartesianSampling):
            traj = self.sampling.traj(max(h, w))
            return (C, len(traj), h, w, h, w, hashlib.sha1(traj.tobytes()).hexdigest())
        return (C, H, W, H, W, h, w, "")

    @property
    def has_targets(self):
        return self.keep_target

    def has_reference(self, i):
        return True  # a file's reference, or the RSS of its k-space

    def target(self, i):
        if self.refs[i].info.target_shape is not None:
            return self.refs[i].read_target()
        if i not in self._references:  # the RSS of the k-space: computed once
            self._references[i] = self.refs[i].read_target()
        return self._references[i]

    def training_slice(self, i: int, s: int, draw: str | None = None) -> dict:
        """Slice s of volume i, read alone from its file, undersampled with
        its mask (or a fresh one, `draw`) and given ACS maps."""
        volume = self.refs[i].read(first=s, count=1)
        if draw is not None and isinstance(self.sampling, NonCartesianSampling):
            raise ValueError("Fresh training masks (train_masks='random') are "
                             "Cartesian masks; a non-Cartesian trajectory is fixed.")
        return _slice_fields(measure(volume, self.sampling, True, "acs", draw=draw), 0)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(repr((self.sampling, self.smaps)).encode())
        for ref in self.refs:
            digest.update(repr((file_identity(ref.info.path), ref.start, ref.stop,
                                ref.max_target_size)).encode())
        return digest.hexdigest()[:16]

    def with_smaps(self, method: str) -> "LazySplit":
        if method == self.smaps:
            return self
        return LazySplit(self.refs, self.sampling, self.keep_target, method, self.cache)

    # Coil maps through the cache --------------------------------------------

    def _keys(self, i: int, mask: torch.Tensor) -> list[str]:
        ref = self.refs[i]
        identity = file_identity(ref.info.path)
        return [maps_key(identity, ref.start + s, mask[s].reshape(-1), self.smaps)
                for s in range(ref.n_slices)]

    def _maps_of(self, i: int):
        """The maps function of volume i for data.measure (None: estimate)."""
        if self.cache is None:
            return None

        def maps(y, mask):
            return self._cached_maps(i, y, mask)
        return maps

    def _cached_maps(self, i, y, mask):
        keys = self._keys(i, mask)
        shape = tuple(y.shape[1:])
        found = [self.cache.load(k, shape) for k in keys]
        missing = [s for s, m in enumerate(found) if m is None]
        if missing:
            computed = _estimate_on_device(y[missing], mask[missing], self.smaps)
            for s, maps in zip(missing, computed):
                self.cache.save(keys[s], maps)
                found[s] = maps
        return torch.stack(found)

    def missing_maps(self, i: int) -> bool:
        """Whether some of volume i's cached maps are still to be computed."""
        if self.cache is None:
            return False
        ref = self.refs[i]
        mask = slice_masks(ref.name, ref.n_slices, ref.info.shape[-1],
                           ref.info.header.acquired_columns, self.sampling)
        return not all(self.cache.has(k) for k in self._keys(i, mask))

    def prepare_maps(self, log=None) -> int:
        """Compute the maps missing from the cache (reads those volumes only);
        returns how many volumes were computed. Cheap when all are cached:
        the entries' existence is checked, their content is read when used."""
        if self.cache is None or isinstance(self.sampling, NonCartesianSampling):
            return 0
        todo = [i for i in range(len(self)) if self.missing_maps(i)]
        for n, i in enumerate(todo):
            if log is not None:
                log(f"coil maps ({self.smaps}) of {self.names[i]}: {n + 1} of "
                    f"{len(todo)} volumes to compute")
            self[i]
        self._last = (None, None)
        return len(todo)


def _estimate_on_device(y, mask, method):
    """estimate_smaps on the GPU when there is one ($BENCHMARK_MRI_SMAPS_DEVICE
    = cpu forces the CPU); results on the CPU."""
    device = os.environ.get("BENCHMARK_MRI_SMAPS_DEVICE") or (
        "cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu":
        try:
            return estimate_smaps(y.to(device), mask.to(device), method).cpu()
        except RuntimeError as err:  # the GPU path is unmeasured: say, go on
            warnings.warn(f"Coil maps ({method}) on {device} failed ({err}); "
                          "computing them on the CPU.", stacklevel=2)
    return estimate_smaps(y, mask, method)


def make_split(volumes, sampling, keep_target: bool, smaps: str = "acs",
               cache: MapsCache | None = None) -> Split:
    """A LazySplit of VolumeRefs, else a MemorySplit measured now."""
    volumes = list(volumes)
    if volumes and all(isinstance(v, VolumeRef) for v in volumes):
        return LazySplit(volumes, sampling, keep_target, smaps, cache)
    if any(isinstance(v, VolumeRef) for v in volumes):
        raise TypeError("A split mixes file references and volumes in memory.")
    return MemorySplit.from_volumes(volumes, sampling, keep_target, smaps)


def as_split(measurements) -> Split:
    """A Split as it is; a list of Measurement as a MemorySplit."""
    return measurements if isinstance(measurements, Split) else MemorySplit(
        measurements)


__all__ = ["CACHED_METHODS", "LazySplit", "MemorySplit", "Split", "Subset",
           "Targets", "as_split", "make_split"]
