"""ScorePosteriorRun: the benchopt curve, its results, reuse and divergence."""

import math

import numpy as np
import pytest
import torch

from benchmark_mri.learned import Training, TrainSettings
from benchmark_mri.learned.score import (
    PosteriorStats,
    SamplerSettings,
    ScoreConfig,
    ScoreNet,
    ScorePosteriorRun,
    dsm_step,
)

from ..conftest import tiny_split

CONFIG = ScoreConfig(channels=4, depth=2, n_levels=2, patch=None, patches=1)
SETTINGS = TrainSettings(n_epochs=2, lr=2e-3, batch_size=2, loss="l2", seed=0)
SAMPLER = SamplerSettings(n_samples=3, n_steps=1, n_leapfrog=1, sample_block=2)


@pytest.fixture(scope="module")
def split():
    return tiny_split(n_train=1, n_test=2)


def make_run(split, tmp_path=None, logs=None, settings=SETTINGS, eval_every=0,
             **options):
    train, test = split
    training = Training("score_test", CONFIG, train, settings,
                        step_fn=dsm_step(CONFIG, settings), device="cpu",
                        cache_dir=tmp_path,
                        log=(logs if logs is not None else []).append, **options)
    return ScorePosteriorRun(training, test, SAMPLER, eval_every)


def curve(run):
    points = []

    def callback():
        points.append(run.result())
        return True

    run.run(callback)
    return points


def test_the_curve_start_epochs_then_samples(split, tmp_path):
    logs = []
    points = curve(make_run(split, tmp_path, logs, eval_every=1))
    drawn = [p["n_samples_drawn"] for p in points]
    epochs = [p["train_epochs"] for p in points]
    assert drawn == [0, 1, 2, 3] and epochs == [0, 1, 2, 2]
    assert [p["inference_iterations"] for p in points] == drawn
    for p in points:
        assert len(p["recon"]) == len(p["posterior_std"]) == 2
        assert p["recon"][0].shape == p["posterior_std"][0].shape == (2, 32, 32)
        assert p["recon"][0].dtype == torch.float32
        assert p["training_diverged"] == p["diverged"] == 0
        assert all(not isinstance(v, str) and math.isfinite(float(v)) or v != v
                   for k, v in p.items() if k not in ("recon", "posterior_std"))
    # One sample (or none): no standard deviation; then a finite one.
    for p in points[:2]:
        assert torch.isnan(p["posterior_std"][0]).all()
    assert torch.isfinite(points[-1]["posterior_std"][0]).all()
    assert (points[-1]["posterior_std"][0] > 0).all()
    assert points[-1]["time_per_sample_s"] > 0 and points[-1]["sigma_y"] > 0
    assert math.isnan(points[0]["sigma_y"])
    assert any("saved checkpoint" in line for line in logs)


def test_the_start_is_the_zero_filled_sense_image(split):
    run = make_run(split)
    start = run.result()
    _, test = split
    m = test[0]
    # Re A^H y of the run's own (ACS) maps, magnitude, cropped.
    from benchmark_mri.data.smaps import estimate_smaps_acs
    from benchmark_mri.physics import Sense

    image = Sense(m.mask, estimate_smaps_acs(m.y, m.mask)).adjoint(m.y).real.abs()
    torch.testing.assert_close(start["recon"][0], image, rtol=1e-4, atol=1e-5)


def test_sampling_is_reproducible_and_reuses_the_checkpoint(split, tmp_path):
    first = curve(make_run(split, tmp_path))
    logs = []
    again = curve(make_run(split, tmp_path, logs))
    assert any("reusing checkpoint" in line for line in logs)
    assert again[-1]["reused_checkpoint"] == 1
    assert [p["n_samples_drawn"] for p in again] == [0, 2, 3]
    torch.testing.assert_close(first[-1]["recon"], again[-1]["recon"])
    torch.testing.assert_close(first[-1]["posterior_std"], again[-1]["posterior_std"])
    assert again[-1]["train_loss"] == first[-1]["train_loss"]


def test_a_sampler_that_produces_nan_is_a_diverged_result(split, tmp_path):
    class NaNScore(ScoreNet):  # trains fine, samples NaN
        def forward(self, x, sigma):
            out = super().forward(x, sigma)
            return out if self.training else out * float("nan")

    logs = []
    points = curve(make_run(split, tmp_path, logs, build=NaNScore))
    last = points[-1]
    assert last["diverged"] == 1 and last["training_diverged"] == 0
    assert all(torch.isnan(r).all() for r in last["recon"] + last["posterior_std"])
    assert any("HMC sampler diverged" in line and "diverged=1, NaN metrics" in line
               for line in logs)
    assert len(points) == 2  # the start, then the diverged point


def test_a_nan_training_is_training_diverged_and_saves_nothing(split, tmp_path):
    class NaNTraining(ScoreNet):
        def forward(self, x, sigma):
            out = super().forward(x, sigma)
            return out * float("nan") if self.training else out

    points = curve(make_run(split, tmp_path, build=NaNTraining))
    assert points[-1]["training_diverged"] == 1
    assert all(torch.isnan(r).all() for r in points[-1]["recon"])
    assert not list(tmp_path.rglob("*.pt"))


@pytest.mark.parametrize("kwargs, message", [
    (dict(settings=TrainSettings(n_epochs=1, loss="l1")),
     "loss='l1': denoising score matching is a squared error, use loss='l2'"),
    (dict(settings=TrainSettings(n_epochs=0, loss="l2")), "n_epochs must be >= 1"),
    (dict(smaps="espirit"), "smaps='espirit' is not a coil-map choice"),
    (dict(eval_every=-1), "eval_every must be an integer >= 0"),
])
def test_bad_run_settings_are_refused(split, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_run(split, **kwargs)


def test_posterior_stats_mean_and_std():
    rng = np.random.default_rng(0)
    samples = torch.from_numpy(rng.standard_normal((2, 5, 3, 4))).float()
    stats = PosteriorStats.empty(2, (3, 4))
    stats.add(samples[:, :2])
    stats.add(samples[:, 2:])
    torch.testing.assert_close(stats.mean(), samples.mean(1).abs())
    torch.testing.assert_close(stats.std(), samples.std(1), rtol=1e-5, atol=1e-6)
    one = PosteriorStats.empty(2, (3, 4))
    one.add(samples[:, :1])
    assert torch.isnan(one.std()).all()


def test_a_diverged_training_point_flags_that_point_and_training_goes_on(split):
    class NaNOnce(ScoreNet):  # the first evaluation (epoch 1's point) is NaN
        calls = 0

        def forward(self, x, sigma):
            out = super().forward(x, sigma)
            if not self.training:
                NaNOnce.calls += 1
                if NaNOnce.calls == 1:
                    return out * float("nan")
            return out

    logs = []
    points = curve(make_run(split, None, logs, build=NaNOnce, eval_every=1))
    assert [p["diverged"] for p in points] == [0, 1, 0, 0]
    assert torch.isfinite(points[-1]["recon"][0]).all()
    assert any("after epoch 1" in line and "training goes on" in line for line in logs)
