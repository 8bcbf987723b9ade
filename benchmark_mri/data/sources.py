"""Where a split's fully sampled volumes come from: memory, or files.

A source describes volume i without reading its k-space (`names`,
`n_slices(i)`, `kspace_shape(i)`, `target_size(i)`) and reads it, or a chunk
of its slices, when asked (`read(i, first, count)`), and its reference
(`reference(i)`). `data/split.py` measures what a source reads; everything
derived from a source (acquisition, fingerprint, training slices, coil-map
keys) is written there once.

- `VolumesInMemory`: volumes generated or loaded whole (the phantom, raw
  non-Cartesian scans: small by design). The split measures each once and
  keeps the measurement.
- `VolumeFiles`: fastMRI files by reference (data.fastmri.VolumeRef): each
  read reads the slices asked for, and nothing is kept. `file_identity(i)`
  and `file_slice(i, s)` key the coil-map cache and the checkpoints.
"""

from dataclasses import replace

import torch

from .fastmri import VolumeRef
from .identity import file_identity
from .noncartesian import NonCartesianScan
from .types import Volume


class VolumeSource:
    """The interface (module doc); `in_memory` says whether measurements
    are worth keeping."""

    in_memory: bool
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def n_slices(self, i: int) -> int:
        raise NotImplementedError

    def kspace_shape(self, i: int) -> tuple[int, int, int]:
        """(C, H, W) of one slice's k-space."""
        raise NotImplementedError

    def target_size(self, i: int) -> tuple[int, int]:
        """(h, w) reconstructions are cropped to."""
        raise NotImplementedError

    def read(self, i: int, first: int = 0, count: int | None = None,
             with_target: bool = True) -> Volume | NonCartesianScan:
        """Slices first .. first + count - 1 of volume i (all by default), as
        a Volume with first_slice = first; without its reference when
        with_target is False (the test split reads none)."""
        raise NotImplementedError

    def reference(self, i: int) -> torch.Tensor | None:
        """The (S, h, w) float32 reference of volume i, or None (unscored)."""
        raise NotImplementedError

    def has_reference(self, i: int) -> bool:
        raise NotImplementedError

    def head(self, n_slices: int) -> "VolumeSource":
        """The first n_slices of the first volume, as a source (their masks
        and maps keys are those they have in the whole volume)."""
        raise NotImplementedError

    def acquired_columns(self, i: int) -> tuple[int, int] | None:
        """[start, stop) of the columns the scanner acquired (data.types.Volume),
        None for all: what masks of volume i leave unsampled, known unread."""
        raise NotImplementedError

    # Files only (`in_memory` False): what keys their coil maps and checkpoints.

    def file_identity(self, i: int) -> str:
        """The identity of volume i's file (data/identity.py)."""
        raise NotImplementedError(f"{type(self).__name__} holds no files.")

    def file_slice(self, i: int, s: int) -> int:
        """The index in its file of slice s of volume i's selection."""
        raise NotImplementedError(f"{type(self).__name__} holds no files.")

    def selection_key(self, i: int) -> tuple:
        """What identifies volume i's selected slices: (file identity, first
        and last selected slice, target size cap)."""
        raise NotImplementedError(f"{type(self).__name__} holds no files.")


class VolumesInMemory(VolumeSource):
    """volumes: a list of data.types.Volume or NonCartesianScan (one slice)."""

    in_memory = True

    def __init__(self, volumes):
        self.volumes = list(volumes)
        self.names = [v.name for v in self.volumes]

    def n_slices(self, i):
        v = self.volumes[i]
        return 1 if isinstance(v, NonCartesianScan) else v.kspace.shape[0]

    def kspace_shape(self, i):
        v = self.volumes[i]
        if isinstance(v, NonCartesianScan):
            return (v.kspace.shape[0], *v.image_shape)
        return tuple(v.kspace.shape[1:])

    def target_size(self, i):
        v = self.volumes[i]
        if isinstance(v, NonCartesianScan):
            return tuple(v.target_size)
        return tuple((v.kspace if v.target is None else v.target).shape[-2:])

    def read(self, i, first=0, count=None, with_target=True):
        v = self.volumes[i]
        count = self.n_slices(i) - first if count is None else count
        if isinstance(v, NonCartesianScan) or (first, count) == (0, self.n_slices(i)):
            return v
        sl = slice(first, first + count)
        return replace(v, kspace=v.kspace[sl], first_slice=v.first_slice + first,
                       target=None if v.target is None else v.target[sl])

    def reference(self, i):
        return self.volumes[i].target

    def has_reference(self, i):
        return self.volumes[i].target is not None

    def head(self, n_slices):
        return VolumesInMemory([self.read(0, 0, min(n_slices, self.n_slices(0)))])

    def acquired_columns(self, i):
        return getattr(self.volumes[i], "acquired_columns", None)


class VolumeFiles(VolumeSource):
    """refs: a list of data.fastmri.VolumeRef (selected slices of files)."""

    in_memory = False

    def __init__(self, refs):
        self.refs = list(refs)
        self.names = [r.name for r in self.refs]
        self._rss: dict[int, torch.Tensor] = {}

    def n_slices(self, i):
        return self.refs[i].n_slices

    def kspace_shape(self, i):
        return tuple(self.refs[i].info.shape[1:])

    def target_size(self, i):
        return tuple(self.refs[i].target_size)

    def read(self, i, first=0, count=None, with_target=True):
        return self.refs[i].read(first, count, with_target)

    def reference(self, i):
        ref = self.refs[i]
        if ref.info.target_shape is not None:
            return ref.read_target()
        if i not in self._rss:  # the RSS of the k-space: computed once
            self._rss[i] = ref.read_target()
        return self._rss[i]

    def has_reference(self, i):
        return True  # a file's reference, or the RSS of its k-space

    def head(self, n_slices):
        ref = self.refs[0]
        return VolumeFiles([replace(ref, stop=min(ref.stop, ref.start + n_slices))])

    def file_identity(self, i):
        return file_identity(self.refs[i].info.path)

    def file_slice(self, i: int, s: int) -> int:
        return self.refs[i].start + s

    def selection_key(self, i: int) -> tuple:
        ref = self.refs[i]
        return (self.file_identity(i), ref.start, ref.stop, ref.max_target_size)

    def acquired_columns(self, i):
        return self.refs[i].info.header.acquired_columns


def source_of(volumes) -> VolumeSource:
    """VolumeFiles of VolumeRefs, else VolumesInMemory."""
    volumes = list(volumes)
    if volumes and all(isinstance(v, VolumeRef) for v in volumes):
        return VolumeFiles(volumes)
    if any(isinstance(v, VolumeRef) for v in volumes):
        raise TypeError("A split mixes file references and volumes in memory.")
    return VolumesInMemory(volumes)
