"""The score network and its denoising score-matching training."""

import pytest
import torch

from benchmark_mri.learned import Batch, TrainSettings, build_model, model_config
from benchmark_mri.learned.losses import get_loss
from benchmark_mri.learned.score import DSMStep, ScoreConfig, ScoreNet, noise_levels
from benchmark_mri.learned.training import Trainer, zero_image_loss

from ..conftest import tiny_split

TINY = ScoreConfig(channels=4, depth=2, n_levels=3, patch=None, patches=1)


def fake_batch(B=2, H=24, W=20, h=16, w=12):
    g = torch.Generator().manual_seed(0)
    y = torch.zeros(B, 3, H, W, dtype=torch.complex64)
    target = torch.rand(B, h, w, generator=g) + 0.5
    return Batch(y=y, physics=None, target=target, scale=torch.ones(B))


def test_noise_ladder_is_geometric_from_max_to_min():
    sigmas = noise_levels(1.0, 0.01, 5)
    torch.testing.assert_close(sigmas, torch.tensor([1.0, 0.31623, 0.1, 0.031623,
                                                     0.01]), rtol=1e-4, atol=0)
    assert noise_levels(1.0, 0.05, 1).tolist() == [pytest.approx(0.05)]


@pytest.mark.parametrize("field, value, message", [
    ("channels", 0, "channels must be an integer >= 1"),
    ("n_levels", 0, "n_levels must be an integer >= 1"),
    ("sigma_min", 0.0, "The noise levels must be > 0"),
    ("sigma_max", -1.0, "The noise levels must be > 0"),
    ("sigma_min", 2.0, "sigma_min=2.0 exceeds sigma_max=0.5"),
])
def test_bad_configs_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        ScoreConfig(**{field: value})


def test_the_registry_builds_the_score_network():
    config = model_config("score", "cpu_small", channels=4)
    assert isinstance(build_model(config), ScoreNet) and config.channels == 4


@pytest.mark.parametrize("shape", [(2, 32, 32), (1, 30, 22)])
def test_network_shape_and_zero_initial_score(shape):
    net = ScoreNet(ScoreConfig(channels=4, depth=3))
    x = torch.randn(*shape)
    score = net(x, torch.full((shape[0],), 0.1))
    assert score.shape == shape and score.dtype == torch.float32
    assert torch.count_nonzero(score) == 0  # zero-initialised head
    assert net(x, 0.1).shape == shape  # a float sigma broadcasts


def test_training_images_are_the_targets_zero_padded_then_cropped():
    batch = fake_batch()
    whole = DSMStep(TINY).images(batch)
    assert whole.shape == (2, 24, 20)
    torch.testing.assert_close(whole[:, 4:20, 4:16], batch.target)
    assert whole[:, :4].abs().sum() == 0 and whole[:, :, 16:].abs().sum() == 0
    crops = DSMStep(TINY, patch=8, patches=3).images(batch)
    assert crops.shape == (6, 8, 8)


def test_a_zero_score_costs_what_a_zero_image_costs():
    """The loss's r^2 factor (dsm.py): with s = 0 the DSM loss is mean(r^2
    z^2) ~ mean(target^2), the Trainer's divergence unit."""
    batch = fake_batch(B=4, H=64, W=64, h=64, w=64)
    loss_fn = get_loss("l2")
    loss = DSMStep(TINY)(lambda x, sigma: torch.zeros_like(x), batch, loss_fn)
    assert float(loss) == pytest.approx(zero_image_loss(batch, loss_fn), rel=0.03)


def test_the_step_is_reproducible_from_its_seed():
    batch, loss_fn = fake_batch(), get_loss("l2")
    net = ScoreNet(TINY)
    torch.nn.init.normal_(net.head.weight)
    with torch.no_grad():
        losses = [float(DSMStep(TINY, seed=s)(net, batch, loss_fn)) for s in (3, 3, 4)]
    assert losses[0] == losses[1] != losses[2]


@pytest.mark.parametrize("kwargs, message", [
    (dict(patch=4), "patch must be None or an integer >= 8"),
    (dict(patches=0), "patches must be an integer >= 1"),
])
def test_bad_crops_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DSMStep(TINY, **kwargs)


def test_a_tiny_training_lowers_the_dsm_loss():
    train, _ = tiny_split(n_train=2)
    torch.manual_seed(0)
    net = ScoreNet(ScoreConfig(channels=8, depth=2, n_levels=4, patch=None))
    settings = TrainSettings(n_epochs=6, lr=1e-2, batch_size=1, loss="l2", seed=0)
    trainer = Trainer(net, train, settings, "cpu",
                      DSMStep(net.config, 0, None, 4))
    losses = [trainer.epoch() for _ in range(6)]
    assert max(losses[-2:]) < 0.7 * losses[0], losses  # 0.20 -> 0.11
