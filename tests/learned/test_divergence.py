"""Divergence is a result, never a score; one trainer per checkpoint key."""

import subprocess
import sys
import threading
import time
import warnings

import pytest
import torch

from benchmark_mri.learned import (
    LearnedRun,
    Training,
    TrainingDiverged,
    TrainSettings,
    model_config,
)
from benchmark_mri.learned.checkpoint import CheckpointCache
from benchmark_mri.learned.deq import deq_step
from benchmark_mri.learned.training import GROWTH_BOUND, Trainer, default_step

from .conftest import TinyConfig, TinyUnrolled

SETTINGS = TrainSettings(n_epochs=3, lr=1e-2, batch_size=2, seed=0)


def learned_run(split, tmp_path, step_fn=default_step, build=TinyUnrolled.from_config,
                logs=None):
    train, test = split
    return LearnedRun(Training("tiny", TinyConfig(), train, SETTINGS, build=build,
                               device="cpu", cache_dir=tmp_path, step_fn=step_fn,
                               log=(logs if logs is not None else []).append), test)


def run_with_callback(run):
    calls = []

    def callback():
        calls.append(run.result())
        return True

    run.run(callback)
    return calls


def nan_from_step(n):
    """A step function whose loss is NaN from its n-th call on."""
    count = [0]

    def step(model, batch, loss_fn):
        count[0] += 1
        loss = default_step(model, batch, loss_fn)
        return loss * float("nan") if count[0] >= n else loss
    return step


def test_a_diverged_training_is_recorded_with_nan_and_never_saved(split, tmp_path):
    """xpdnet[lr=1e3]: the loss became NaN in epoch 2. The run's last point
    says so (training_diverged=1, NaN images, the epochs done) instead of
    ending on the untrained model's numbers; no checkpoint is saved."""
    logs = []
    run = learned_run(split, tmp_path, step_fn=nan_from_step(3), logs=logs)
    calls = run_with_callback(run)
    assert len(calls) == 3  # untrained, epoch 1, the diverged point
    assert [c["training_diverged"] for c in calls] == [0, 0, 1]
    assert all(torch.isfinite(r).all() for c in calls[:2] for r in c["recon"])
    last = calls[-1]
    assert all(torch.isnan(r).all() for r in last["recon"])
    assert last["recon"][0].shape == calls[0]["recon"][0].shape
    assert last["train_epochs"] == 1
    assert not list(tmp_path.rglob("*.pt"))
    said = "\n".join(logs)
    assert "Training diverged: the loss is nan (epoch 2, step 1)" in said
    assert "lower the learning rate (lr=0.01)" in said
    assert "recorded as diverged (training_diverged=1, NaN metrics)" in said
    assert "no checkpoint is saved" in said and "saved checkpoint" not in said


def test_a_loss_ten_times_that_of_a_zero_image_stops_at_that_step(split):
    """xpdnet[lr=1], deq_shine[lr=10]: a finite loss that explodes."""
    model = TinyUnrolled()

    def exploding(model, batch, loss_fn):
        return default_step(model, batch, loss_fn) + 100 * loss_fn(
            torch.zeros_like(batch.target), batch.target)

    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model, split[0], SETTINGS, "cpu", exploding)
    with pytest.raises(TrainingDiverged, match=(
            r"exceeds 10 times that of an all-zero image .* \(epoch 1, step 1\); "
            r"lower the learning rate \(lr=0\.01\)")):
        trainer.epoch()
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_an_epoch_ten_times_worse_than_the_first_stops(split):
    """deq_shine[lr=1000]: a loss that grows over epochs, each step below the
    zero-image bound."""
    trainer = None

    def growing(model, batch, loss_fn):
        # Detached: the model stays as it is, each epoch 2 step is 10.5 times
        # its epoch 1 loss (about 0.7 times the zero-image bound).
        factor = 1.0 if trainer.epochs_done == 0 else 1.05 * GROWTH_BOUND
        return factor * default_step(model, batch, loss_fn).detach().requires_grad_()

    trainer = Trainer(TinyUnrolled(), split[0], SETTINGS, "cpu", growing)
    trainer.epoch()
    with pytest.raises(TrainingDiverged, match=(
            r"mean loss of epoch 2 .* exceeds 10 times that of epoch 1")):
        trainer.epoch()
    assert trainer.epochs_done == 1


class Bright(TinyUnrolled):
    """A model whose output is 100 times too bright."""

    def forward(self, y, physics, n_iter=None):
        return 100 * physics.adjoint(y) + 0 * self.step


class BlowsUpAtTest(TinyUnrolled):
    """Trains normally; its test-time solve diverges (as a DEQ's may)."""

    def forward(self, y, physics, n_iter=None):
        if not self.training:
            raise TrainingDiverged("The DEQ forward solve produced NaN/inf.")
        return super().forward(y, physics, n_iter)


@pytest.mark.parametrize("model, message", [
    (Bright, "peaks at 100 times its zero-filled image's maximum"),
    (BlowsUpAtTest, "On the test split: The DEQ forward solve produced NaN/inf."),
])
def test_an_absurd_test_output_is_a_divergence(split, tmp_path, model, message):
    logs = []
    run = learned_run(split, tmp_path, build=lambda config: model(), logs=logs)
    calls = run_with_callback(run)
    assert len(calls) == 1 and calls[0]["training_diverged"] == 1
    assert all(torch.isnan(r).all() for r in calls[0]["recon"])
    assert message in "\n".join(logs)
    assert not list(tmp_path.rglob("*.pt"))


def test_the_normal_training_never_diverges(split, tmp_path):
    calls = run_with_callback(learned_run(split, tmp_path))
    assert [c["training_diverged"] for c in calls] == [0, 0, 0, 0]
    assert len(list(tmp_path.rglob("*.pt"))) == 1


def test_the_lock_excludes_other_holders_and_says_so(tmp_path):
    cache = CheckpointCache(tmp_path)
    script = ("import time\nfrom benchmark_mri.learned.checkpoint import "
              f"CheckpointCache\nwith CheckpointCache({str(tmp_path)!r})"
              ".lock('m', 'k'):\n    print('held', flush=True); time.sleep(1.5)\n")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waited, start = [], time.perf_counter()
        with cache.lock("m", "k", on_wait=waited.append) as path:
            assert time.perf_counter() - start > 1.0  # once the holder let go
        assert waited == [tmp_path / "m" / "k.lock"] == [path]
    finally:
        holder.wait(timeout=30)
    with cache.lock("m", "k", on_wait=waited.append):  # free: no wait
        pass
    assert len(waited) == 1


def test_a_run_started_during_a_training_waits_then_reuses(split, tmp_path):
    """Two identical runs at once train the checkpoint once."""
    first_logs, second_logs = [], []
    first = learned_run(split, tmp_path, logs=first_logs)
    second = learned_run(split, tmp_path, logs=second_logs)
    training, release = threading.Event(), threading.Event()

    def callback():  # the first run's: it holds the lock while it trains
        training.set()
        release.wait(timeout=60)
        first.result()
        return True

    thread = threading.Thread(target=first.run, args=(callback,))
    thread.start()
    assert training.wait(timeout=60)
    waiting = threading.Thread(target=run_with_callback, args=(second,))
    waiting.start()
    while not any("waiting" in line for line in second_logs):
        waiting.join(timeout=0.05)
        assert waiting.is_alive()
    release.set()
    thread.join(timeout=120)
    waiting.join(timeout=120)
    assert any("saved checkpoint" in line for line in first_logs)
    assert "another run is training these weights" in second_logs[0]
    assert "reusing checkpoint" in second_logs[-1] and second.training.reused
    assert not any("saved checkpoint" in line for line in second_logs)


def test_an_unreadable_checkpoint_warning_is_whole(split, tmp_path):
    run = learned_run(split, tmp_path)
    path = run.training.cache.path("tiny", run.training.key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run.training.cache.load("tiny", run.training.key) is None
    message = str(caught[0].message)
    assert message.endswith("); retraining and overwriting it.")
    assert "refused it: Unsupported operand" in message
    assert "weights_only` set to `False`" not in message  # not torch's advice


@pytest.mark.parametrize("name, lr, overrides, step", [
    ("xpdnet", 1.0, dict(n_iter=1), default_step),
    ("deq", 10.0, dict(channels=4, forward_max_iter=5), deq_step),
    ("deq", 1000.0, dict(channels=4, forward_max_iter=5), deq_step),
])
def test_the_issues_learning_rates_diverge_and_save_nothing(split, tmp_path, name, lr,
                                                            overrides, step):
    """xpdnet[lr=1], deq_shine[lr=10], deq_shine[lr=1000] used to end with
    finite losses of 1e1..4e31, PSNR down to -650 dB and a saved checkpoint."""
    train, test = split
    logs = []
    run = LearnedRun(Training(name, model_config(name, "cpu_small", **overrides), train,
                              TrainSettings(n_epochs=2, lr=lr, batch_size=1, seed=0),
                              device="cpu", cache_dir=tmp_path, step_fn=step,
                              log=logs.append), test)
    calls = run_with_callback(run)
    assert [c["training_diverged"] for c in calls] == [0, 1], logs  # in epoch 1
    assert all(torch.isnan(r).all() for r in calls[-1]["recon"])
    assert "Training diverged: the loss" in logs[0]
    assert f"lower the learning rate (lr={lr:g})" in logs[0]
    assert not list(tmp_path.rglob("*.pt"))
