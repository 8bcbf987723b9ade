"""The training lifecycle on its own (learned/lifecycle.py): what a solver of
a new kind builds its run on."""

import pytest
import torch

from benchmark_mri.learned import Inference, Outcome, Training
from benchmark_mri.learned.checkpoint import cache_key
from benchmark_mri.learned.data import with_acs_smaps

from .conftest import SETTINGS, TinyConfig, TinyUnrolled


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


# -- training under other settings (train_acceleration, train_mask_type) -----

def volumes_split(acceleration=4, mask_type="random", trajectory="cartesian"):
    """A training Split over fully sampled phantoms (what the objective makes)."""
    from benchmark_mri.data import phantom_volumes
    from benchmark_mri.data.split import make_split
    from benchmark_mri.physics.trajectories import make_sampling

    volumes = phantom_volumes("train", 1, 0, image_size=32, n_coils=4, n_slices=2)
    return make_split(volumes, make_sampling(trajectory, acceleration, mask_type), True)


def trained_under(split, **sampling):
    from benchmark_mri.learned import TrainSampling

    return Training("tiny", TinyConfig(), split, SETTINGS,
                    build=TinyUnrolled.from_config, device="cpu",
                    sampling=TrainSampling(**sampling), log=[].append)


def sampled_fraction(split) -> float:
    return float(torch.cat([m.mask for m in split]).float().mean())


def test_the_training_split_is_measured_under_the_training_settings():
    at4 = trained_under(volumes_split(4))
    at8 = trained_under(volumes_split(4), acceleration=8)
    assert at4.train.setting == (4.0, "random") and at8.train.setting == (8.0, "random")
    assert sampled_fraction(at8.train) < 0.6 * sampled_fraction(at4.train)
    equi = trained_under(volumes_split(4), mask_type="equispaced")
    assert equi.train.setting == (4.0, "equispaced")
    assert equi.measurements()["train_mask_type"] == "equispaced"
    assert at8.measurements()["train_acceleration"] == 8.0


def test_the_key_changes_with_the_training_settings_only_when_they_change_the_data():
    """Defaults: the key of before (checkpoints stay valid). Another setting:
    another key. train_acceleration=4 on an 8x dataset: the very training
    data of the default run at 4x, so its checkpoint."""
    default = trained_under(volumes_split(4))
    assert default.key == trained_under(volumes_split(4), acceleration=None).key
    assert default.key == trained_under(volumes_split(4), acceleration=4,
                                        mask_type="random").key
    assert trained_under(volumes_split(4), acceleration=8).key != default.key
    assert trained_under(volumes_split(4), mask_type="equispaced").key != default.key
    assert trained_under(volumes_split(8), acceleration=4).key == default.key


def test_non_cartesian_training_takes_another_acceleration():
    run = trained_under(volumes_split(4, trajectory="radial"), acceleration=8)
    assert run.train.setting == (8.0, "radial")


@pytest.mark.parametrize("data, sampling, message", [
    ("cartesian", dict(acceleration=3),
     r"tiny: train_acceleration=3 is not available for the dataset's Cartesian "
     r"masks, which take fastMRI's centre fractions \{4: 0.08, 8: 0.04\}: use "
     r"train_acceleration=4 or 8, or None \(the test's, 4\)"),
    ("cartesian", dict(mask_type="poisson"),
     r"train_mask_type='poisson' is not a mask type: use one of \('random', "
     r"'equispaced', 'gaussian'\), or None \(the test's\)"),
    ("radial", dict(mask_type="equispaced"),
     r"tiny: train_mask_type='equispaced' applies to Cartesian masks; the dataset "
     r"samples along a radial trajectory: leave train_mask_type=None"),
    ("measured", dict(acceleration=8),
     r"tiny: train_acceleration / train_mask_type measure the training volumes "
     r"anew: that needs the fully sampled volumes of a Split"),
])
def test_training_settings_the_data_cannot_make_are_refused(split, data, sampling,
                                                           message):
    train = {"cartesian": lambda: volumes_split(4),
             "radial": lambda: volumes_split(4, trajectory="radial"),
             "measured": lambda: split[0]}[data]()
    with pytest.raises(ValueError, match=message):
        trained_under(train, **sampling)
