"""The checkpoint cache: train once per set of training inputs, reuse after.

A key is the SHA-256 of everything that determines the trained weights: the
model name and config, the training settings (optimizer, lr, batch size,
loss, epochs, seed, train_masks, pretrained initialisation), the training
split's fingerprint (data.split: Split.fingerprint) and the code version of
benchmark_mri. The fingerprint of a split read from fastMRI files is what
determines its data, never their bytes: each file's identity (its folder and
name, size, modification time, ISMRMRD header and 16 sampled blocks of 4 KiB,
data/identity.py), the selected slices and target crop, the sampling
(trajectory, mask type, acceleration, centre fraction) and the maps
estimator; any of them changed changes the key. A split in memory (the
phantom) is fingerprinted by its measurements' bytes (y, mask, smaps,
target, with names and shapes). Not in the key: the test split (its shard
included: shards of one split share the trained weights), test-time
iterations, device, DataLoader workers. A checkpoint file describes itself:
{"model", "config", "settings", "key", "state_dict", "meta"}.

One trainer per key at a time: `CheckpointCache.lock(model, key)` is an
exclusive lock on <root>/<model>/<key>.lock (an fcntl file lock, released
when the holder exits, also when it dies), held by a learned run from its
cache lookup through training to the save, so that runs started together
(two `benchopt run`, parallel workers, shards of a split) train a model
once: the others wait, then load the saved weights.

Faults cost no result. A folder where the lock file cannot be created
(read-only) is said in a warning and the run goes on unlocked. A save that
fails (a full disk, a read-only folder) leaves no temporary file and is said
in the run's log (`store`): its results are recorded, a later run trains
again. A checkpoint that does not fit its key (another model's state dict,
non-finite weights) is set aside as <key>.pt.rejected with a warning, and
the model is retrained; one that cannot be read is overwritten the same way.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock (see CheckpointCache.lock)
    fcntl = None

import torch

from ..version import code_version

ENV_DIR = "BENCHMARK_MRI_CHECKPOINTS"


def plain(obj):
    """A dataclass as a dict; anything else unchanged."""
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return obj


def make_checkpoint(name: str, config, settings, key: str, model, meta: dict) -> dict:
    """A self-describing checkpoint of `model`'s current weights (module doc)."""
    return dict(model=name, config=plain(config), settings=plain(settings), key=key,
                state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
                meta=dict(meta))


def cache_key(model: str, config, settings, data_fingerprint: str) -> str:
    """Hex key of a trained model; config / settings are dataclasses or dicts."""
    payload = dict(model=model, config=plain(config), settings=plain(settings),
                   data=data_fingerprint, code=code_version())
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def default_checkpoint_dir(benchmark_dir: Path) -> Path:
    """$BENCHMARK_MRI_CHECKPOINTS when set, else <benchmark>/checkpoints."""
    return Path(os.environ.get(ENV_DIR, Path(benchmark_dir) / "checkpoints"))


class CheckpointCache:
    """Checkpoint files <root>/<model>/<key>.pt, beside their lock files
    <key>.lock (empty, left in place: removing one would race its users)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, model: str, key: str) -> Path:
        return self.root / model / f"{key}.pt"

    @contextlib.contextmanager
    def lock(self, model: str, key: str, on_wait=None):
        """Hold the exclusive lock of `key` for the duration of the block.

        Blocks while another holder has it; on_wait(lock_path) is called
        once before waiting (to say so). Each call opens the lock file anew,
        so other threads of the same process are excluded too (flock locks
        belong to an open file). The lock is released when the block ends or
        the process dies (no stale lock); it works on local and NFS file
        systems (Linux emulates flock there with fcntl locks); on a platform
        without fcntl the block runs unlocked. Not re-entrant: a holder that
        takes it again waits for itself.
        """
        path = self.root / model / f"{key}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")
        except OSError as err:
            warnings.warn(
                f"Checkpoint folder {self.root}: cannot create the lock file {path} "
                f"({_first_sentence(err)}); this run goes on without the lock (a "
                "run started at the same time may train these weights too) and "
                "cannot save its checkpoint there. Make the folder writable, or "
                f"set {ENV_DIR} to a writable folder.", stacklevel=3)
            yield None
            return
        with handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if on_wait is not None:
                        on_wait(path)
                    fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield path
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self, model: str, key: str, into: torch.nn.Module | None = None
             ) -> dict | None:
        """The checkpoint saved under `key`, or None: absent, unreadable
        (warned; the caller retrains and overwrites it), or, with `into`,
        weights that do not fit that module or are not finite (warned and
        set aside, module doc). With `into`, its weights are loaded."""
        path = self.path(model, key)
        if not path.exists():
            return None
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(ckpt, dict) or ckpt.get("key") != key:
                raise ValueError("not a checkpoint of this key")
            if not {"model", "config", "state_dict"} <= set(ckpt):
                raise ValueError("missing fields")
        except Exception as err:  # noqa: BLE001 - any unreadable file: retrain
            warnings.warn(
                f"Checkpoint {path} is unreadable ({type(err).__name__}: "
                f"{_first_sentence(err)}); retraining and overwriting it.",
                stacklevel=2,
            )
            return None
        if into is None:
            return ckpt
        problems = ([f"it holds a checkpoint of {ckpt['model']!r}"]
                    if ckpt["model"] != model else [])
        problems += state_dict_problems(into.state_dict(), ckpt["state_dict"])
        bad = non_finite(ckpt["state_dict"])
        if bad:
            problems.append(f"its weights are not finite ({bad})")
        if problems:
            self._set_aside(path, "; ".join(problems))
            return None
        into.load_state_dict(ckpt["state_dict"])
        return ckpt

    def _set_aside(self, path: Path, reason: str):
        rejected = path.with_name(path.name + ".rejected")
        try:
            os.replace(path, rejected)
            where = f"set aside as {rejected}"
        except OSError as err:
            where = f"not set aside ({_first_sentence(err)})"
        warnings.warn(f"Checkpoint {path} does not fit its key or is not usable: "
                      f"{reason}. It is {where} and never reused; retraining.",
                      stacklevel=3)

    def save(self, checkpoint: dict) -> Path:
        """Write atomically (temporary file, then rename), under the key's
        lock: temporary files of this key that a killed save left behind are
        removed first, and a failed save removes its own (then raises the
        OSError). Refuses (ValueError) weights that are not finite."""
        bad = non_finite(checkpoint["state_dict"])
        if bad:
            raise ValueError(f"its weights are not finite ({bad})")
        path = self.path(checkpoint["model"], checkpoint["key"])
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in path.parent.glob(f"{path.stem}.tmp*"):
            leftover.unlink(missing_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        try:
            torch.save(checkpoint, tmp)
            os.replace(tmp, path)
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            if isinstance(err, RuntimeError):  # torch's writer: a full disk...
                raise OSError(f"torch.save failed: {_first_sentence(err)}; "
                              f"{_room(path.parent)}") from err
            raise
        return path

    def store(self, checkpoint: dict, log=print) -> Path | None:
        """`save`, saying the outcome in `log`: the path, or why the
        checkpoint was not saved (the run's results stand; a later run trains
        again) and what to do. Returns the path, or None."""
        name = checkpoint["model"]
        try:
            path = self.save(checkpoint)
        except (OSError, ValueError) as err:
            advice = (f" Free space in or make writable {self.root}, or set "
                      f"{ENV_DIR} to another folder." if isinstance(err, OSError)
                      else "")
            log(f"{name}: the checkpoint was not saved ({_first_sentence(err)}): "
                "this run's results are recorded, and a later run trains these "
                f"weights again.{advice}")
            return None
        log(f"{name}: saved checkpoint {path}")
        return path


def _room(folder: Path) -> str:
    """The free space and writability of `folder`, in words."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return f"{folder} cannot be inspected"
    writable = "" if os.access(folder, os.W_OK) else ", not writable"
    return f"{free / 1e6:.1f} MB free in {folder}{writable}"


def non_finite(state_dict: dict) -> str | None:
    """The first floating tensor of a state dict with NaN / inf, named, or None."""
    for name, value in state_dict.items():
        if (isinstance(value, torch.Tensor) and value.is_floating_point()
                and not torch.isfinite(value).all()):
            return f"{name!r} holds NaN or inf"
    return None


def state_dict_problems(own: dict, given: dict, original=None) -> list[str]:
    """Why the state dict `given` cannot be loaded into a module whose state
    dict is `own` (missing / unexpected keys, the first shape mismatch),
    or []. original: {key: the name it has in a file}
    for the messages (pretrained.py's renamed keys)."""
    original = original or {}
    missing = set(own) - set(given)
    unexpected = {original.get(k, k) for k in set(given) - set(own)}
    mismatch = next((k for k in own if k in given and isinstance(given[k], torch.Tensor)
                     and given[k].shape != own[k].shape), None)
    problems = []
    if missing:
        problems.append(f"missing keys {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_listed(unexpected)}")
    if mismatch:
        problems.append(f"first shape mismatch {original.get(mismatch, mismatch)!r}: "
                        f"{tuple(given[mismatch].shape)} in the file, "
                        f"{tuple(own[mismatch].shape)} in the model")
    return problems


def _listed(keys, shown: int = 5) -> str:
    keys = sorted(keys)
    more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return f"{keys[:shown]}{more}"


def _first_sentence(err: Exception, limit: int = 300) -> str:
    """Why a checkpoint is unreadable, in one line: the first line of the
    error (for torch's weights-only unpickler, its own reason, not its advice
    to load untrusted files), whole sentences up to `limit` characters, else
    cut at a word with " ..."."""
    text = str(err).strip()
    marker = "WeightsUnpickler error:"
    if marker in text:
        reason = text.split(marker, 1)[1].strip().splitlines()[0]
        reason = reason.split(". ")[0].rstrip(".")
        text = f"torch.load(weights_only=True) refused it: {reason}."
    line = next((t.strip() for t in text.splitlines() if t.strip()), "")
    if len(line) <= limit:
        return line
    cut = line[:limit].rfind(". ")
    if cut > 0:
        return line[:cut + 1]
    return line[:limit].rsplit(" ", 1)[0] + " ..."
