"""Reading fastMRI HDF5 files, lazily, into `Volume`s.

The layout (Zbontar et al. 2018, fastMRI's `SliceDataset`):
- `kspace`: (S, C, H, W) complex64 for multicoil files, (S, H, W) for
  singlecoil ones (read here as C = 1); centred, H = readout (ISMRMRD x),
  W = phase encode (ISMRMRD y), the columns a Cartesian mask samples;
- `reconstruction_rss` (multicoil) / `reconstruction_esc` (singlecoil):
  (S, h, w) float32 references, already cropped to the recon size;
- `ismrmrd_header`: XML with the encoded and recon matrix sizes and the
  encoding limits of the phase-encode axis (`kspace_encoding_step_1`);
- attributes: `acquisition` (CORPD_FBK, CORPDFS_FBK, AXT2, AXFLAIR, ...),
  `max`, `norm`, `patient_id`, ...

Padding, as fastMRI computes it: the scanner acquired the phase-encode
columns [padding_left, padding_right) with
    padding_left = encoded_y // 2 - center,  padding_right = padding_left + maximum + 1
(center / maximum of kspace_encoding_step_1); the other columns are zero
padding, and a mask never samples them (`Volume.acquired_columns`).

Targets: the file's reference cropped at the centre to
(min(recon_x, max_target_size), min(recon_y, max_target_size)), capped by the
reference's own size; max_target_size = 320 is fastMRI's. On fastMRI data this
is the 320 x 320 crop of fastMRI's evaluation; smaller images (converted scanner
data) keep their whole recon size. A file without a reference gets the RSS of
its fully sampled k-space, cropped the same way (how fastMRI made its own).

Reading is lazy: only the selected slices are read (`kspace[start:stop]`),
never a whole volume or split.
"""

import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from ..physics import ifft2c, rss
from .transforms import center_crop
from .types import Volume

CHALLENGES = ("multicoil", "singlecoil")
TARGET_KEYS = {"multicoil": "reconstruction_rss", "singlecoil": "reconstruction_esc"}
FASTMRI_TARGET_SIZE = 320
_NS = {"m": "http://www.ismrm.org/ISMRMRD"}


class FastMRIFileError(ValueError):
    """A fastMRI file or folder that cannot be used; the message names it."""


@dataclass(frozen=True)
class Header:
    """What the ISMRMRD header says about the acquisition grid.

    encoding_size / recon_size: (x, y) = (readout H, phase encode W) matrix
    sizes; acquired_columns: [padding_left, padding_right) phase-encode columns.
    """

    encoding_size: tuple[int, int]
    recon_size: tuple[int, int]
    acquired_columns: tuple[int, int]


@dataclass(frozen=True)
class FileInfo:
    """One fastMRI file, described without reading its k-space.

    challenge: "multicoil" ((S, C, H, W) k-space) or "singlecoil" ((S, H, W)).
    shape: the k-space shape as (S, C, H, W) (C = 1 for singlecoil).
    attrs: the file's HDF5 attributes (acquisition, max, patient_id, ...).
    target_shape: the shape of the file's reference (S, h, w), or None when
        it has none (the target is then the RSS of the k-space).
    """

    path: Path
    challenge: str
    shape: tuple[int, int, int, int]
    header: Header
    attrs: dict
    target_shape: tuple[int, int, int] | None = None

    @property
    def acquisition(self) -> str | None:
        value = self.attrs.get("acquisition")
        return value.decode() if isinstance(value, bytes) else value


def parse_header(xml: str | bytes, kspace_shape, path: Path) -> Header:
    """Sizes and padding from an ISMRMRD XML header (fastMRI's reading).

    kspace_shape: (..., H, W); used to check that the header fits the data.
    """
    try:
        root = ElementTree.fromstring(xml)

        def integer(*tags):
            node = root.find(".//" + "/".join(f"m:{t}" for t in tags), _NS)
            if node is None:
                raise KeyError("/".join(tags))
            return int(node.text)

        enc = ("encoding", "encodedSpace", "matrixSize")
        rec = ("encoding", "reconSpace", "matrixSize")
        lim = ("encoding", "encodingLimits", "kspace_encoding_step_1")
        encoding = (integer(*enc, "x"), integer(*enc, "y"))
        recon = (integer(*rec, "x"), integer(*rec, "y"))
        center, maximum = integer(*lim, "center"), integer(*lim, "maximum")
    except (ElementTree.ParseError, KeyError, TypeError, ValueError) as err:
        raise FastMRIFileError(
            f"{path}: unreadable ismrmrd_header ({type(err).__name__}: {err}); "
            "it needs encodedSpace / reconSpace matrixSize x, y and "
            "encodingLimits kspace_encoding_step_1 center, maximum."
        ) from None
    left = encoding[1] // 2 - center
    right = left + maximum + 1
    width = kspace_shape[-1]
    # Clipped to the grid, as fastMRI's mask[..., :left] = mask[..., right:] = 0
    # effectively is when right > width.
    left, right = max(left, 0), min(right, width)
    if not left <= width // 2 < right:
        raise FastMRIFileError(
            f"{path}: ismrmrd_header gives acquired phase-encode columns "
            f"[{left}, {right}), which miss the k-space centre column "
            f"{width // 2} of {width}."
        )
    return Header(encoding, recon, (left, right))


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise FastMRIFileError(f"{path}: no such file.")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise FastMRIFileError(
            f"{path}: not a readable HDF5 file, it may be truncated or "
            f"corrupted ({err}); copy or download it again."
        ) from None


def inspect_file(path, challenge: str | None = None) -> FileInfo:
    """Describe a fastMRI file (header, attributes, shape) without reading
    its k-space. challenge: expected layout, or None to accept either.

    Raises FastMRIFileError naming the file for: unreadable / corrupted
    HDF5, no `kspace`, a k-space that is not complex (S, C, H, W) /
    (S, H, W) or holds no data (0 slices, coils, rows or columns), a
    singlecoil file where multicoil is expected (or the reverse), an
    undersampled file (it has a `mask`, as fastMRI's test files do), a
    reference whose slice count is not the k-space's.
    """
    path = Path(path)
    if challenge is not None and challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {CHALLENGES} (got {challenge!r}).")
    with _open(path) as f:
        if "kspace" not in f:
            raise FastMRIFileError(
                f"{path}: no 'kspace' dataset (found {sorted(f.keys())}); "
                "a fastMRI file holds the k-space under 'kspace'."
            )
        kspace = f["kspace"]
        if kspace.ndim not in (3, 4) or not np.issubdtype(
            kspace.dtype, np.complexfloating
        ):
            raise FastMRIFileError(
                f"{path}: 'kspace' is {kspace.dtype} of shape {kspace.shape}; "
                "expected complex (slices, coils, H, W) or (slices, H, W)."
            )
        if 0 in kspace.shape:
            raise FastMRIFileError(
                f"{path}: 'kspace' holds no data (shape {kspace.shape}): there is "
                "nothing to reconstruct; remove the file from the folder."
            )
        found = "multicoil" if kspace.ndim == 4 else "singlecoil"
        if challenge is not None and found != challenge:
            raise FastMRIFileError(
                f"{path}: a {found} file (k-space {kspace.shape}) in a {challenge} "
                f"run; use challenge={found!r} or remove the file from the folder."
            )
        if "mask" in f:
            raise FastMRIFileError(
                f"{path}: undersampled k-space (the file has a 'mask', as "
                "fastMRI's test and challenge files do); the benchmark needs "
                "fully sampled files (fastMRI's train / val splits)."
            )
        shape = tuple(kspace.shape)
        if found == "singlecoil":
            shape = (shape[0], 1, *shape[1:])
        if "ismrmrd_header" in f:
            header = parse_header(f["ismrmrd_header"][()], shape, path)
        else:  # converted data without header: no padding, recon = target
            size = shape[-2:]
            key = TARGET_KEYS[found]
            recon = f[key].shape[-2:] if key in f else size
            header = Header(tuple(size), tuple(recon), (0, size[-1]))
        attrs = dict(f.attrs)
        key = TARGET_KEYS[found]
        target_shape = tuple(f[key].shape) if key in f else None
    if target_shape is not None and target_shape[0] != shape[0]:
        raise FastMRIFileError(
            f"{path}: '{key}' has {target_shape[0]} slices and 'kspace' "
            f"{shape[0]}: the reference does not belong to this k-space "
            "(slice by slice); check or replace the file.")
    return FileInfo(path, found, shape, header, attrs, target_shape)


def select_slices(n_total: int, n_slices: int | None) -> slice:
    """The `n_slices` central slices of a volume of `n_total` (all if None)."""
    if n_slices is None or n_slices >= n_total:
        return slice(0, n_total)
    if n_slices < 1:
        raise ValueError(f"n_slices must be >= 1 or None (got {n_slices}).")
    start = (n_total - n_slices) // 2
    return slice(start, start + n_slices)


def target_size(info: FileInfo, max_size: int = FASTMRI_TARGET_SIZE):
    """(h, w) the target is cropped to: the recon size, capped by max_size
    and by the k-space grid."""
    return tuple(
        min(r, max_size, n) for r, n in zip(info.header.recon_size, info.shape[-2:])
    )


def check_finite(path: Path, name: str, values: np.ndarray, first: int = 0):
    """Raise FastMRIFileError naming the file, the dataset `name` and the
    first slice (index in the file; values' slice 0 is slice `first`) with
    a NaN or infinite value."""
    values = values.reshape(values.shape[0], -1)
    # Per-slice sums first: finite unless a value is not (or they overflow, when
    # the values themselves are looked at), with no temporary of the slices' size.
    if np.isfinite(values.sum(axis=1)).all():
        return
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise FastMRIFileError(
            f"{path}: '{name}' slice {first + int(np.argmax(bad))} contains NaN or "
            f"inf values ({int(bad.sum())} of the {len(bad)} slices read); a "
            "reference or a measurement must be finite: check or replace the file.")


def check_nonzero(path: Path, name: str, values: np.ndarray, first: int = 0,
                  why: str = "no metric can be computed against it"):
    """Raise FastMRIFileError naming the file and the first all-zero slice of
    `name`, the reference (no image has an all-zero reference) or, in a file
    without one, the k-space whose RSS is the target (`why` says so)."""
    empty = ~np.any(values.reshape(values.shape[0], -1), axis=1)
    if empty.any():
        raise FastMRIFileError(
            f"{path}: '{name}' slice {first + int(np.argmax(empty))} is all zero "
            f"({int(empty.sum())} of the {len(empty)} slices read): {why}; check "
            "the file, or select other slices (n_slices).")


@dataclass(frozen=True)
class VolumeRef:
    """A volume of a fastMRI file by reference: what a lazy dataset hands out
    (file description and selected slices, no k-space; data/split.py reads
    it when a solver asks).

    start, stop: the selected slices [start, stop) of the file;
    max_target_size: the target crop (see the module docstring).
    """

    info: FileInfo
    start: int
    stop: int
    max_target_size: int = FASTMRI_TARGET_SIZE

    @property
    def name(self) -> str:
        return self.info.path.stem

    @property
    def n_slices(self) -> int:
        return self.stop - self.start

    @property
    def target_size(self) -> tuple[int, int]:
        """(h, w) of the cropped target, known from the header alone."""
        size = target_size(self.info, self.max_target_size)
        if self.info.target_shape is not None:
            size = tuple(min(s, t) for s, t in zip(size, self.info.target_shape[-2:]))
        return size

    def read(self, first: int = 0, count: int | None = None,
             with_target: bool = True) -> Volume:
        """The selected slices first .. first + count - 1 (all by default) as
        a Volume with first_slice = first (their masks are those they have in
        the whole selection); with_target=False reads no reference (target
        None)."""
        count = self.n_slices - first if count is None else count
        if not (0 <= first and count >= 1 and first + count <= self.n_slices):
            raise IndexError(f"{self.info.path}: slices {first}..{first + count - 1} "
                             f"of a selection of {self.n_slices}.")
        index = slice(self.start + first, self.start + first + count)
        kspace, target = _read_slices(self.info, index, with_target)
        if with_target:
            if target is None:
                target = rss(ifft2c(kspace))
            target = center_crop(target, self.target_size).contiguous()
        return Volume(
            name=self.name,
            kspace=kspace,
            target=target,
            acquired_columns=self.info.header.acquired_columns,
            first_slice=first,
        )

    def read_target(self) -> torch.Tensor:
        """The (S, h, w) cropped target of the selection; reads only the
        reference when the file has one (else the k-space, for its RSS)."""
        if self.info.target_shape is None:
            return self.read().target
        index = slice(self.start, self.stop)
        key = TARGET_KEYS[self.info.challenge]
        target = _read(self.info, index, lambda f: f[key][index])
        check_finite(self.info.path, key, target, index.start)
        check_nonzero(self.info.path, key, target, index.start)
        target = torch.from_numpy(np.asarray(target, dtype=np.float32))
        return center_crop(target, self.target_size).contiguous()


def volume_ref(info: FileInfo, n_slices: int | None = None,
               max_target_size: int = FASTMRI_TARGET_SIZE) -> VolumeRef:
    """The reference to the central `n_slices` of a file (all if None)."""
    index = select_slices(info.shape[0], n_slices)
    return VolumeRef(info, index.start, index.stop, max_target_size)


def _read(info: FileInfo, index: slice, get):
    try:
        with _open(info.path) as f:
            return get(f)
    except OSError as err:
        raise FastMRIFileError(
            f"{info.path}: reading slices {index.start}..{index.stop - 1} failed, "
            f"the file may be truncated or corrupted ({err}); copy or download "
            "it again."
        ) from None


def _read_slices(info: FileInfo, index: slice, with_target: bool = True):
    """(kspace (S, C, H, W) complex64, reference (S, h', w') or None) of the
    file's slices `index`, checked finite (and the reference non-zero); no
    reference read when with_target is False."""
    key = TARGET_KEYS[info.challenge]

    def get(f):
        target = f[key][index] if with_target and key in f else None
        return _read_complex64(f["kspace"], index), target

    kspace, target = _read(info, index, get)
    check_finite(info.path, "kspace", kspace, index.start)
    if info.target_shape is None:  # the target will be the RSS of this k-space
        check_nonzero(info.path, "kspace", kspace, index.start,
                      "the file has no reference, and the RSS of this k-space, "
                      "its target, would be all zero (NaN metrics)")
    kspace = torch.from_numpy(kspace)
    if info.challenge == "singlecoil":
        kspace = kspace[:, None]
    if target is not None:
        check_finite(info.path, key, target, index.start)
        check_nonzero(info.path, key, target, index.start)
        target = torch.from_numpy(np.asarray(target, dtype=np.float32))
    return kspace, target


def _read_complex64(dataset, index: slice) -> np.ndarray:
    """dataset[index] as complex64, read straight into its array (no
    temporary of another dtype when the file stores complex64)."""
    shape = (index.stop - index.start, *dataset.shape[1:])
    if dataset.dtype != np.complex64:
        return dataset[index].astype(np.complex64)
    out = np.empty(shape, np.complex64)
    dataset.read_direct(out, np.s_[index.start:index.stop])
    return out


def read_volume(
    info: FileInfo,
    n_slices: int | None = None,
    max_target_size: int = FASTMRI_TARGET_SIZE,
) -> Volume:
    """Read the central `n_slices` of a file as a Volume (only those slices).

    kspace: (S, C, H, W) complex64; target: (S, h, w) float32, see the module
    docstring for the crop; acquired_columns: the header's padding.
    """
    return volume_ref(info, n_slices, max_target_size).read()


def list_files(
    folder,
    challenge: str | None = None,
    acquisitions=None,
    n_volumes: int | None = None,
    skip: int = 0,
) -> list[FileInfo]:
    """The first `n_volumes` fastMRI files of `folder` in name order.

    Only the headers of the files looked at are read. acquisitions: keep files
    whose `acquisition` attribute is in it (None: all); skip: drop this many
    matching files first (how a folder is split into train / test).
    Raises FastMRIFileError naming the folder when it is missing or holds no
    .h5 file, and naming the file when one is unusable (see inspect_file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FastMRIFileError(f"{folder}: no such folder.")
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".h5", ".hdf5"))
    if not paths:
        raise FastMRIFileError(
            f"{folder}: no .h5 file in this folder; expected fastMRI files "
            "such as file1000001.h5."
        )
    if isinstance(acquisitions, str):
        acquisitions = [acquisitions]
    found = []
    for path in paths:
        if n_volumes is not None and len(found) >= skip + n_volumes:
            break
        info = inspect_file(path, challenge)
        if acquisitions is None or info.acquisition in acquisitions:
            found.append(info)
    if acquisitions is not None and not found:
        raise FastMRIFileError(
            f"{folder}: no file with acquisition in {list(acquisitions)}."
        )
    return found[skip:] if n_volumes is None else found[skip : skip + n_volumes]


def find_root(configured: Path | None, env=os.environ) -> Path | None:
    """Where the fastMRI data live: $FASTMRI_ROOT if set (it must exist), else
    the configured path if it exists, else None."""
    if env.get("FASTMRI_ROOT"):
        root = Path(env["FASTMRI_ROOT"]).expanduser()
        if not root.is_dir():
            raise FastMRIFileError(f"FASTMRI_ROOT={root}: no such folder.")
        return root
    if configured is not None and Path(configured).is_dir():
        return Path(configured)
    return None
