"""The shared training loop, checkpoint cache and memory meter."""

import warnings

import pytest
import torch

from benchmark_mri.data.split import fingerprint_measurements
from benchmark_mri.learned import (
    LearnedRun,
    PeakMemory,
    Training,
    TrainingDiverged,
    TrainSettings,
    cache_key,
    check_training_split,
    resolve_device,
    saved_tensors_mb,
)
from benchmark_mri.learned.training import Trainer

from .conftest import SETTINGS, TinyConfig, TinyUnrolled, run_once, tiny_split


def test_a_few_steps_lower_the_loss(split):
    train, _ = split
    torch.manual_seed(0)
    trainer = Trainer(TinyUnrolled(), train,
                      TrainSettings(n_epochs=1, lr=1e-2, batch_size=2), "cpu")
    first = trainer.epoch()
    for _ in range(4):
        last = trainer.epoch()
    assert last < 0.8 * first


def test_nan_loss_stops_training_with_a_clear_message(split):
    train, _ = split
    model = TinyUnrolled()
    with torch.no_grad():
        model.step.fill_(float("nan"))
    trainer = Trainer(model, train, SETTINGS, "cpu")
    with pytest.raises(TrainingDiverged, match="loss is nan.*epoch 1, step 1"):
        trainer.epoch()


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'"):
        TrainSettings(optimizer="adamm")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        TrainSettings(batch_size=0)
    with pytest.raises(ValueError, match="CUDA is not available|Unknown device"):
        resolve_device("cuda" if not torch.cuda.is_available() else "tpu9")


def test_no_training_split_is_a_skip_with_its_reason(split):
    _, test = split
    skip, reason = check_training_split("xpdnet", [])
    assert skip and "no training split" in reason
    assert check_training_split("xpdnet", test)[0]  # targets missing
    with pytest.raises(ValueError, match="needs a training split"):
        Trainer(TinyUnrolled(), [], SETTINGS)


def test_cache_key_follows_training_inputs_only(split):
    train, _ = split
    data = fingerprint_measurements(train)
    key = cache_key("tiny", {"n_iter": 2}, SETTINGS, data)
    assert key == cache_key("tiny", {"n_iter": 2}, SETTINGS, data)
    changed = TrainSettings(n_epochs=2, lr=2e-2, batch_size=2, seed=0)
    assert key != cache_key("tiny", {"n_iter": 2}, changed, data)
    assert key != cache_key("tiny", {"n_iter": 3}, SETTINGS, data)
    other_data = fingerprint_measurements(tiny_split(seed=1)[0])
    assert key != cache_key("tiny", {"n_iter": 2}, SETTINGS, other_data)


def test_run_trains_once_then_reuses_its_checkpoint(split, tmp_path):
    logs = []
    first, calls = run_once(split, tmp_path, logs=logs)
    assert len(calls) == 1 + SETTINGS.n_epochs
    assert calls[-1]["reused_checkpoint"] == 0 and calls[-1]["train_epochs"] == 2
    assert any("saved checkpoint" in line for line in logs)
    # An inference-only change (test-time iterations) reuses the weights.
    logs.clear()
    second, calls = run_once(split, tmp_path, test_iterations=5, logs=logs)
    assert len(calls) == 1 and calls[0]["reused_checkpoint"] == 1
    assert calls[0]["inference_iterations"] == 5 and calls[0]["train_iterations"] == 2
    assert any("reusing checkpoint" in line for line in logs)
    for a, b in zip(first.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)
    # A training change retrains.
    changed = TrainSettings(n_epochs=2, lr=5e-3, batch_size=2, seed=0)
    _, calls = run_once(split, tmp_path, settings=changed)
    assert len(calls) == 3 and calls[-1]["reused_checkpoint"] == 0


def test_corrupt_checkpoint_warns_and_retrains(split, tmp_path):
    run, _ = run_once(split, tmp_path)
    path = run.training.cache.path("tiny", run.training.key)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable.*retraining"):
        _, calls = run_once(split, tmp_path)
    assert len(calls) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, calls = run_once(split, tmp_path)  # rewritten: readable again
    assert len(calls) == 1


def test_result_reports_memory_and_inference_time(split, tmp_path):
    _, calls = run_once(split, tmp_path)
    final = calls[-1]
    assert final["train_peak_memory_mb"] > 0 and final["inference_time_s"] > 0
    assert final["saved_tensors_mb"] > 0
    assert len(final["recon"]) == 1 and final["recon"][0].shape == (2, 32, 32)


def test_saved_tensors_grow_with_unrolled_depth(split):
    from benchmark_mri.learned import make_batch
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps, m.target)
    sizes = []
    for n_iter in (1, 2, 4):
        model = TinyUnrolled(n_iter)
        sizes.append(saved_tensors_mb(
            lambda model=model: model(batch.y, batch.physics).abs().sum()))
    assert sizes[0] < sizes[1] < sizes[2]
    with PeakMemory("cpu") as meter:
        x = torch.zeros(4_000_000).add_(1)
    del x
    assert meter.peak_mb > 30  # the process, with its 16 MB array


def test_learned_models_use_the_coil_maps_they_ask_for(split):
    from dataclasses import replace

    from benchmark_mri.data.smaps import estimate_smaps_acs

    train, test = split
    other = [replace(m, smaps=torch.ones_like(m.smaps)) for m in test]

    def run(smaps):
        return LearnedRun(Training("tiny", TinyConfig(), train, SETTINGS, smaps=smaps,
                                   build=TinyUnrolled.from_config, device="cpu",
                                   cache_dir=None, log=[].append), other)

    for m in run("acs").test:  # the default: maps from the model's own ACS lines
        assert torch.equal(m.smaps, estimate_smaps_acs(m.y, m.mask))
    for m in run("objective").test:  # the objective's maps, untouched
        assert torch.equal(m.smaps, torch.ones_like(m.smaps))
    with pytest.raises(ValueError, match="tiny: smaps='espirit' is not a coil-map "
                       "choice of a learned solver: use one of"):
        run("espirit")


def test_a_training_says_its_epochs_to_a_log(split):
    """Not a terminal (a log, a SLURM job's output): one line per epoch with
    the slices, the loss, the throughput and the time left."""
    import io
    import re

    log = io.StringIO()
    trainer = Trainer(TinyUnrolled(), split[0], TrainSettings(n_epochs=2, batch_size=2),
                      name="tiny", progress_stream=log)
    trainer.epoch()
    trainer.epoch()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2, lines
    n = sum(m.y.shape[0] for m in split[0])
    assert re.fullmatch(rf"tiny: epoch 1/2: {n} slices in [\d.]+ s \([\d.e+]+ "
                        r"slices/s\), loss [\d.e+-]+; about [\d.]+ s left",
                        lines[0]), lines[0]
    assert lines[1].startswith("tiny: epoch 2/2") and "left" not in lines[1]
