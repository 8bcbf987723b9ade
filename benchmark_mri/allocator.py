"""Large arrays go back to the system when freed (glibc's malloc).

glibc serves a block larger than its mmap threshold with mmap, and unmaps it
when freed; but the threshold is dynamic: freeing such a block raises it to
that block's size (up to 32 MiB). From then on, blocks of that size come from
the heap, which fragments and keeps them. A process that reads one fastMRI
slice after another (28 MB of k-space, and as much again in each temporary of
its coil maps) then grows by gigabytes: a DataLoader worker reading single
knee slices peaked at several times what it holds (docs/fastmri-scale.md).
Fixing the threshold (mallopt M_MMAP_THRESHOLD) ends the dynamic adjustment:
every block above it is mapped and returned when freed. It is set in the
DataLoader's workers, which only read and measure slices; not in a training
process, whose steps it makes several times slower (every large temporary
is then mapped afresh).
"""

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
THRESHOLD_BYTES = 1 << 20


def return_large_blocks(threshold: int = THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold in this process; False where there is no
    glibc (macOS, Windows, musl), where nothing changes."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False


def worker_init(_worker_id: int) -> None:
    """A DataLoader's worker_init_fn: return_large_blocks in each worker."""
    return_large_blocks()
