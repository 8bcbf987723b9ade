"""What identifies a data file without reading it whole.

The checkpoint key of a learned solver and the coil-map cache are keyed by
the files their data come from, not by their bytes (a fastMRI split is
hundreds of GB). `file_identity(path)` is the SHA-256 of:
- the file's name and that of its folder (e.g. `multicoil_val/file1000.h5`:
  the same tree mounted elsewhere has the same identity);
- its size and modification time (ns): a file rewritten in place, or copied
  without preserving times, gets a new identity (conservative: a cache
  miss, never a stale entry);
- its ISMRMRD header, when it has one (HDF5 dataset `ismrmrd_header`);
- SAMPLE_BLOCKS blocks of SAMPLE_BYTES bytes at evenly spaced offsets,
  first and last included.
An edit that keeps size, time and every sampled byte is not seen; none of
the ways files are written or copied does that.
"""

import hashlib
from functools import lru_cache
from pathlib import Path

import h5py

SAMPLE_BLOCKS = 16
SAMPLE_BYTES = 4096


def file_identity(path) -> str:
    """Hex SHA-256 (first 20 characters) of what identifies `path` (module doc)."""
    path = Path(path).resolve()
    stat = path.stat()
    return _identity(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _identity(path: str, size: int, mtime_ns: int) -> str:
    path = Path(path)
    digest = hashlib.sha256()
    digest.update(f"{path.parent.name}/{path.name}:{size}:{mtime_ns}".encode())
    try:
        with h5py.File(path, "r") as f:
            if "ismrmrd_header" in f:
                header = f["ismrmrd_header"][()]
                digest.update(header if isinstance(header, bytes) else
                              str(header).encode())
    except OSError:
        digest.update(b"not-hdf5")
    with open(path, "rb") as f:
        step = max(size - SAMPLE_BYTES, 0) / max(SAMPLE_BLOCKS - 1, 1)
        for i in range(SAMPLE_BLOCKS):
            f.seek(int(i * step))
            digest.update(f.read(SAMPLE_BYTES))
    return digest.hexdigest()[:20]
