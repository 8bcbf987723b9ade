"""A checkpoint folder that fails never costs a training's results, and a
checkpoint that does not fit its key is never reused."""

import builtins
import errno
import os
import pathlib
import warnings

import pytest
import torch

from benchmark_mri.learned.checkpoint import make_checkpoint

from .conftest import SETTINGS, TinyConfig, TinyUnrolled, run_once


def failing_writes(monkeypatch, folder, code):
    """Writes under `folder` fail with OSError(code) the way a full disk
    (ENOSPC: empty files such as a lock are created, a checkpoint is written
    part-way) or a read-only file system (EROFS: nothing is created) fails
    them; reads still work."""
    folder = str(folder)
    message = os.strerror(code)

    def inside(path):
        return str(os.path.abspath(os.fspath(path))).startswith(folder)

    real_open, real_mkdir, real_save = builtins.open, pathlib.Path.mkdir, torch.save

    def fake_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and inside(file) \
                and any(c in mode for c in "wax+") and code == errno.EROFS:
            raise OSError(code, message, os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_mkdir(self, *args, **kwargs):
        if inside(self) and code == errno.EROFS and not self.is_dir():
            raise OSError(code, message, str(self))
        return real_mkdir(self, *args, **kwargs)

    def fake_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and inside(f):
            if code == errno.ENOSPC:  # the disk fills up part-way; torch says
                with real_open(f, "wb") as handle:  # so in its own words
                    handle.write(b"\0" * 1000)
                raise RuntimeError("[enforce fail at inline_container.cc:672] . "
                                   "unexpected pos 121280 vs 121168")
            raise OSError(code, message, os.fspath(f))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(pathlib.Path, "mkdir", fake_mkdir)
    monkeypatch.setattr(torch, "save", fake_save)


@pytest.mark.parametrize("code, advice", [
    (errno.ENOSPC, "torch.save failed: [enforce fail at inline_container.cc:672] . "
     "unexpected pos 121280 vs 121168; "),
    (errno.EROFS, "Read-only file system"),
])
def test_a_checkpoint_that_cannot_be_written_loses_no_result(split, tmp_path,
                                                             monkeypatch, code,
                                                             advice):
    """A full or read-only checkpoint folder: every point of the training is
    recorded, the run says that the checkpoint was not saved and why, and
    no temporary file is left behind (a leftover filled the disk again)."""
    folder = tmp_path / "ckpt"
    if code == errno.ENOSPC:
        (folder / "tiny").mkdir(parents=True)
    failing_writes(monkeypatch, folder, code)
    logs = []
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        run, calls = run_once(split, folder, logs)
    assert len(calls) == 1 + SETTINGS.n_epochs
    assert calls[-1]["train_epochs"] == 2 and calls[-1]["training_diverged"] == 0
    assert torch.isfinite(calls[-1]["recon"][0]).all()
    said = "\n".join(logs)
    assert "tiny: the checkpoint was not saved" in said and advice in said
    assert code != errno.ENOSPC or " MB free in " in said
    assert "BENCHMARK_MRI_CHECKPOINTS" in said
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
    assert not list(tmp_path.rglob("*.pt"))


def test_a_read_only_folder_is_said_once_not_raised(split, tmp_path, monkeypatch):
    """The lock file cannot be created: a warning naming the folder, and the
    run goes on (it reuses a checkpoint already there)."""
    folder = tmp_path / "ckpt"
    first, _ = run_once(split, folder)  # a checkpoint exists, then read-only
    failing_writes(monkeypatch, folder, errno.EROFS)
    logs = []
    with pytest.warns(UserWarning, match="cannot create the lock file.*Read-only"):
        run, calls = run_once(split, folder, logs)
    assert run.training.reused and len(calls) == 1


def test_leftover_temporary_files_of_a_killed_save_are_removed(split, tmp_path):
    """A save killed part-way (kill -9, a full disk before this fix) left
    <key>.tmpPID behind; the next save of that key, holding its lock,
    removes it."""
    folder = tmp_path / "ckpt"
    run, _ = run_once(split, folder)
    path = run.training.cache.path("tiny", run.training.key)
    stale = path.with_suffix(".tmp4242")
    stale.write_bytes(b"\0" * 1000)
    path.unlink()
    run_once(split, folder)
    assert path.exists() and not stale.exists()


def other_checkpoint(run, state_dict):
    """A checkpoint file under `run`'s key holding `state_dict`."""
    model = TinyUnrolled()
    model.load_state_dict(state_dict, strict=False)
    ckpt = make_checkpoint("tiny", TinyConfig(), SETTINGS, run.training.key, model, {})
    ckpt["state_dict"] = state_dict
    path = run.training.cache.path("tiny", run.training.key)
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("corrupt, reason", [
    (lambda s: {"conv.weight": torch.zeros(3, 3)}, "does not fit"),
    (lambda s: {**s, "step": torch.tensor(float("nan"))}, "not finite"),
])
def test_a_checkpoint_that_does_not_fit_its_key_is_set_aside(split, tmp_path,
                                                              corrupt, reason):
    """Another model's state dict, or NaN weights, under the right key: a
    warning naming the file and why, the file set aside, the model retrained
    (never a raw load_state_dict error, never NaN weights reused forever)."""
    folder = tmp_path / "ckpt"
    run, _ = run_once(split, folder)
    path = other_checkpoint(run, corrupt(run.model.state_dict()))
    with pytest.warns(UserWarning, match=f"{path}.*{reason}.*set aside"):
        again, calls = run_once(split, folder)
    assert not again.training.reused and len(calls) == 1 + SETTINGS.n_epochs
    assert path.with_name(path.name + ".rejected").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third, calls = run_once(split, folder)  # the retrained one: reused
    assert third.training.reused and len(calls) == 1
