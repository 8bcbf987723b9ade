"""Peak training memory, and a deterministic proxy for it.

`PeakMemory` measures the peak memory of the code run inside it:
- CUDA: torch.cuda.max_memory_allocated (reset on entry): every tensor held on
  the GPU at the peak, weights and data included;
- CPU (Linux): a thread samples the process's resident set size
  (/proc/self/statm) every `interval` seconds; reported is the peak RSS of the
  process while the block runs (the whole process: Python, torch, the data,
  the model, and what training adds). Not an increment over a baseline:
  memory freed before training but kept by the allocator would hide part of
  the training's own use. Sampling can miss a peak shorter than the interval.
- elsewhere: resource.getrusage's ru_maxrss (the lifetime peak).

`saved_tensors_mb(fn)` is deterministic: the peak size of the tensors autograd
saves for the backward pass that are alive together while fn() runs
(torch.autograd.graph.saved_tensors_hooks; a storage counted once, released
when the last tensor saved on it dies, i.e. when its graph is freed); it is
what grows with the depth of an unrolled network, and what the Trainer
reports as `saved_tensors_mb` (the maximum over training steps). A step that
builds one graph and runs its backward after fn() (every end-to-end step)
measures the sum of what it saves; a step that frees graphs inside fn()
(GLEAM's greedy modules, each backpropagated before the next runs; the DEQ's
OPA updates) measures the largest set alive at once. Tensors saved through
`torch.utils.checkpoint` (use_reentrant=False) count at the boundaries only:
the checkpointed region's inputs, not its recomputed activations.
"""

import os
import resource
import sys
import threading
import time
import weakref

import torch

MB = 2**20
STATM = "/proc/self/statm"


def current_rss_bytes() -> int:
    """Resident set size of this process, bytes."""
    if os.path.exists(STATM):
        with open(STATM) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class PeakMemory:
    """Context manager; `.peak_mb` after (or during) the block. See module doc.

    Re-entering accumulates: the peak is the maximum over all blocks.
    """

    def __init__(self, device: torch.device, interval: float = 0.005):
        self.device = torch.device(device)
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self._peak = current_rss_bytes()
        if os.path.exists(STATM):
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, current_rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) / MB
        else:
            if self._thread is not None:
                self._stop.set()
                self._thread.join()
                self._thread = None
            self._peak = max(self._peak, current_rss_bytes())
            peak = self._peak / MB
        self.peak_mb = max(self.peak_mb, peak)
        return False


def saved_tensors_mb(fn, exclude=()) -> float:
    """Peak MB of the distinct tensors saved for backward that are alive
    together while fn() runs (module doc).

    Runs fn() (which should compute a loss from parameters requiring grad)
    under saved_tensors_hooks; storages are counted once. The weights a
    layer saves (a convolution's) count, as they are held for the backward
    pass; exclude: tensors whose storages are not counted (e.g.
    model.parameters(), to measure activations alone).

    No Python code runs when a saved tensor dies: its weak reference's
    callback is `list.append` (C, where no signal handler runs), and the
    dead are counted out at the next pack. Python ignores an exception
    raised in code run at an object's death: a Ctrl-C landing in a Python
    callback there (a weakref.finalize) was lost and the training went on.
    """
    state = {"now": 0, "peak": 0, "refs": {}}
    # id(weak reference) -> (the reference, storage pointer, nbytes); the
    # references whose tensor died. (Weak references to tensors are keyed by
    # id: comparing two would compare their tensors.)
    owner, dead = {}, []
    excluded = {t.untyped_storage().data_ptr() for t in exclude}

    def release():
        while dead:
            _, ptr, nbytes = owner.pop(id(dead.pop()))
            state["refs"][ptr] -= 1
            if state["refs"][ptr] == 0:
                state["now"] -= nbytes

    def pack(t):
        if t.device.type == "meta":
            return t
        release()
        storage = t.untyped_storage()
        ptr, nbytes = storage.data_ptr(), storage.nbytes()
        if ptr in excluded:
            return t
        if state["refs"].get(ptr, 0) == 0:
            state["now"] += nbytes
            state["peak"] = max(state["peak"], state["now"])
        state["refs"][ptr] = state["refs"].get(ptr, 0) + 1
        ref = weakref.ref(t, dead.append)  # t dies with its graph
        owner[id(ref)] = (ref, ptr, nbytes)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return state["peak"] / MB
