"""Coil maps on demand: one provider for every estimator a split uses.

A split's measurements carry their Cartesian coil maps as a deferred value
(data.types.Measurement): `CoilMaps.deferred(y, mask, keys)` is computed
when a solver first reads `m.smaps`, never before, so a solver that uses no
maps (zero_filled, grappa) or its own ACS maps (the learned solvers) never
pays for ESPIRiT. Estimators in CACHED_METHODS (ESPIRiT: seconds a slice on
fastMRI's knees) go through the disk cache (data/maps_cache.py) when the
measurement has keys (slices of files, data/split.py): computed once per
slice for every solver, run and worker; `benchmark-mri prepare` fills the
cache ahead. ACS maps cost one inverse FFT of the ACS block: never cached.
"""

import os
import time
import warnings
from functools import partial

import torch

from .maps_cache import MapsCache
from .smaps import estimate_smaps

CACHED_METHODS = ("espirit",)


class CoilMaps:
    """The maps of one estimator (data.smaps.estimate_smaps's `method`).

    cache: where the maps of CACHED_METHODS are kept (a MapsCache; None: in
    memory, for this process); log: where a line goes after a volume's maps
    were computed (the cost a run pays once).
    """

    def __init__(self, method: str = "acs", cache: MapsCache | None = None,
                 log=None):
        self.method, self.log = method, log
        self.cache = None
        if method in CACHED_METHODS:
            self.cache = cache if cache is not None else MapsCache(None)

    def __repr__(self):
        return f"CoilMaps({self.method!r})"

    def deferred(self, y: torch.Tensor, mask: torch.Tensor, keys=None, name=""):
        """A function of no argument returning the (S, C, H, W) maps of y
        (S, C, H, W) sampled on mask (S, 1, 1, W); keys: one cache key per
        slice (data.maps_cache.maps_key), or None; name: for the log line."""
        return partial(self.estimate, y, mask, keys, name)

    def estimate(self, y: torch.Tensor, mask: torch.Tensor, keys=None,
                 name: str = "") -> torch.Tensor:
        """The maps now: read from the cache where it has them, the others
        estimated (and stored)."""
        if self.cache is None or keys is None:
            return self._compute(y, mask, name)
        shape = tuple(y.shape[1:])
        found = [self.cache.load(k, shape) for k in keys]
        missing = [s for s, m in enumerate(found) if m is None]
        if missing:
            computed = self._compute(y[missing], mask[missing], name)
            for s, maps in zip(missing, computed):
                self.cache.save(keys[s], maps)
                found[s] = maps
        return torch.stack(found)

    def cached(self, keys) -> bool:
        """Whether every slice of `keys` is in the cache (no maps read)."""
        return self.cache is not None and all(self.cache.has(k) for k in keys)

    def _compute(self, y, mask, name):
        if self.method not in CACHED_METHODS:
            return estimate_smaps(y, mask, self.method)
        start = time.perf_counter()
        maps = estimate_on_device(y, mask, self.method)
        if self.log is not None:
            self.log(f"coil maps ({self.method}) of {name or 'a volume'}: "
                     f"{y.shape[0]} slice(s) in {time.perf_counter() - start:.1f} s")
        return maps


def estimate_on_device(y, mask, method):
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
