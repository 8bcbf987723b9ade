"""A disk cache of coil maps: each test slice's maps are estimated once.

ESPIRiT costs about a second per fastMRI knee slice; the objective's maps are
the same for every solver, re-run and worker, so they are computed once and
stored under $BENCHMARK_MRI_CACHE (default <benchmark>/cache, git-ignored) as
<root>/smaps/<key[:2]>/<key>.npy, one file per slice. The key (`maps_key`)
is the SHA-256 of the file's identity (data/identity.py), the slice's index
in the file, its mask (sampled columns), the estimator's name and
parameters, and the estimator's code version (`ESTIMATOR_VERSION`, the
source of data/smaps.py and of the FFT and mask code it calls): a changed
file, mask, estimator or code misses the cache; entries are never stale.

Entries are written atomically (a temporary file, then a rename), so
concurrent workers never read a half-written one; one that cannot be read
back (truncated, corrupted, wrong shape) is recomputed with a warning. A
cache folder that cannot be written (read-only, full) is left alone: the run
goes on with the maps kept in memory, and says so once.
"""

import contextlib
import hashlib
import inspect
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..physics import fft, masks
from . import smaps

ENV_DIR = "BENCHMARK_MRI_CACHE"
ESTIMATOR_VERSION = hashlib.sha256(
    "".join(inspect.getsource(m) for m in (smaps, fft, masks)).encode()
).hexdigest()[:12]


def default_cache_dir(benchmark_dir: Path) -> Path:
    """$BENCHMARK_MRI_CACHE when set, else <benchmark>/cache."""
    return Path(os.environ.get(ENV_DIR) or Path(benchmark_dir) / "cache")


def maps_key(identity: str, slice_index: int, column_mask, method: str,
             params: dict | None = None) -> str:
    """The cache key of one slice's maps (module doc); column_mask (W,) bool."""
    columns = np.packbits(np.asarray(column_mask, dtype=bool).reshape(-1)).tobytes()
    text = repr((identity, int(slice_index), hashlib.sha1(columns).hexdigest(),
                 method, sorted((params or {}).items()), ESTIMATOR_VERSION))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _warn(text: str):
    warnings.warn(text, stacklevel=4)


class MapsCache:
    """Coil maps by key: `load(key, shape)`, `save(key, maps)`; see the module doc.

    root None: no disk cache (maps kept in memory for this process only).
    """

    def __init__(self, root: Path | None, log=None):
        self.root = None if root is None else Path(root)
        self.log = log or _warn
        self.memory: dict[str, torch.Tensor] = {}
        self.disabled_because = None if root is not None else "no cache folder"

    def path(self, key: str) -> Path:
        return self.root / "smaps" / key[:2] / f"{key}.npy"

    def has(self, key: str) -> bool:
        if key in self.memory:
            return True
        return self.root is not None and self.path(key).is_file()

    def load(self, key: str, shape: tuple) -> torch.Tensor | None:
        """The (C, H, W) complex64 maps of `key`, or None (absent, or
        unreadable: then warn and let the caller recompute)."""
        if key in self.memory:
            return self.memory[key]
        if self.disabled_because is not None:
            return None
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            maps = np.load(path, allow_pickle=False)
            if maps.shape != tuple(shape) or maps.dtype != np.complex64:
                raise ValueError(f"holds {maps.dtype} {maps.shape}, expected "
                                 f"complex64 {tuple(shape)}")
            if not np.isfinite(maps.view(np.float32)).all():
                raise ValueError("holds NaN or inf values")
        except (OSError, ValueError, EOFError) as err:
            self.log(f"Coil-map cache entry {path} is unreadable ({err}); "
                     "recomputing it.")
            return None
        return torch.from_numpy(maps)

    def save(self, key: str, maps: torch.Tensor) -> None:
        """Write atomically; on a folder that cannot be written, keep the maps
        in memory instead and say once why."""
        if self.disabled_because is None:
            path = self.path(key)
            tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npy")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(tmp, maps.numpy().astype(np.complex64, copy=False))
                os.replace(tmp, path)
                return
            except OSError as err:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
                self.disabled_because = f"{type(err).__name__}: {err}"
                self.log(
                    f"The coil-map cache {self.root} cannot be written "
                    f"({self.disabled_because}); this run computes the maps "
                    f"without it and keeps them in memory. Set {ENV_DIR} to a "
                    "writable folder with free space to compute them once.")
        self.memory[key] = maps
