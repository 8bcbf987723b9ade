"""The training lifecycle on its own (learned/lifecycle.py): what a solver of
a new kind builds its run on."""

import pytest
import torch

from benchmark_mri.learned import Inference, Outcome, Training, TrainSettings
from benchmark_mri.learned.checkpoint import cache_key
from benchmark_mri.learned.data import with_acs_smaps

from .conftest import TinyConfig, TinyUnrolled

SETTINGS = TrainSettings(n_epochs=2, lr=1e-2, batch_size=2, seed=0)


def training(split, tmp_path, logs=None, settings=SETTINGS):
    train, _ = split
    return Training("tiny", TinyConfig(), train, settings,
                    build=TinyUnrolled.from_config, device="cpu", cache_dir=tmp_path,
                    log=(logs if logs is not None else []).append)


def test_trains_then_reuses_calling_back_between_epochs(split, tmp_path):
    points = []
    first = training(split, tmp_path)
    outcome = first.run(before=lambda: points.append("start") or True,
                        after_epoch=lambda epoch: points.append(epoch) or True)
    assert outcome == Outcome.TRAINED and points == ["start", 1, 2]
    measured = first.measurements()
    assert measured["train_epochs"] == 2 and measured["reused_checkpoint"] == 0
    assert measured["train_time_s"] > 0 and measured["train_peak_memory_mb"] > 0
    logs = []
    again = training(split, tmp_path, logs)
    assert again.run(before=lambda: pytest.fail("no training")) == Outcome.REUSED
    assert again.measurements()["reused_checkpoint"] == 1
    assert again.measurements()["train_time_s"] == measured["train_time_s"]
    assert "reusing checkpoint" in logs[-1]
    for a, b in zip(first.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)


def test_a_callback_that_says_stop_cuts_the_training_and_saves_nothing(
        split, tmp_path):
    logs = []
    run = training(split, tmp_path, logs)
    assert run.run(after_epoch=lambda epoch: False) == Outcome.STOPPED
    assert "stopped the training after 1 of 2 epochs" in logs[-1]
    assert not list(tmp_path.rglob("*.pt"))


def test_divergence_is_said_once_and_nothing_is_saved(split, tmp_path):
    logs = []
    run = training(split, tmp_path, logs)
    run.diverge("The test image is absurd.")
    run.diverge("Again.")
    assert run.run(before=lambda: True) == Outcome.STOPPED
    assert len(logs) == 1 and "training_diverged=1" in logs[0]
    assert run.measurements()["training_diverged"] == 1
    assert not list(tmp_path.rglob("*.pt"))


def test_the_key_is_the_one_checkpoints_were_saved_under(split, tmp_path):
    """Checkpoints trained before the lifecycle stay valid: the key is
    cache_key(name, config, settings, fingerprint of the training split with
    the model's maps), as LearnedRun computed it."""
    train, _ = split
    run = training(split, tmp_path)
    assert run.key == cache_key("tiny", TinyConfig(), SETTINGS,
                                with_acs_smaps(train).fingerprint())


def test_the_seed_builds_the_same_model_without_moving_the_global_generator(split):
    state = torch.random.get_rng_state()
    a, b = training(split, None), training(split, None)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def test_inference_options_drop_none():
    assert Inference(3, {"tol": None, "x": 1}).keywords() == {"x": 1}
    assert Inference().iterations is None and Inference().keywords() == {}
