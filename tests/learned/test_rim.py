"""RIM: the conv-GRU cell, the recurrent model, training over all steps."""

import pytest
import torch

from benchmark_mri.learned import Trainer, TrainSettings, make_batch, model_config
from benchmark_mri.learned.rim import PRESETS, RIM, ConvGRUCell, rim_step


def test_conv_gru_cell_shapes_and_carried_state():
    cell = ConvGRUCell(3, 5, dilation=2)
    x = torch.randn(2, 3, 9, 11)
    h1 = cell(x)
    assert h1.shape == (2, 5, 9, 11)
    h2 = cell(x, h1)
    assert not torch.allclose(h2, h1)  # the state carries over
    assert torch.allclose(cell(x, torch.zeros_like(h1)), h1)  # None = zero state
    assert h2.abs().max() <= 1  # convex mix of tanh values and the past state


def test_rim_forward_trajectory_and_test_time_steps(split):
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps, m.target)
    model = RIM(model_config("rim", n_steps=3, hidden_channels=4))
    assert len(model.trajectory(batch.y, batch.physics)) == 3
    for n_iter in (None, 1, 6):
        x = model(batch.y, batch.physics, n_iter=n_iter)
        assert x.shape == (2, 32, 32) and x.dtype == torch.complex64
    # Untrained, the update is zero: the estimate stays the SENSE adjoint.
    assert torch.allclose(x, batch.physics.adjoint(batch.y), atol=1e-6)


def test_a_few_training_steps_lower_the_loss_over_all_steps(split):
    train, _ = split
    torch.manual_seed(0)
    model = RIM(model_config("rim", n_steps=2, hidden_channels=8))
    trainer = Trainer(model, train, TrainSettings(lr=1e-2, batch_size=1), "cpu",
                      step_fn=rim_step)
    losses = [trainer.epoch() for _ in range(4)]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.98 * losses[0], losses


def test_rim_step_averages_the_loss_over_steps(split):
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps, m.target)
    model = RIM(model_config("rim", n_steps=3, hidden_channels=4))
    torch.nn.init.normal_(model.out.weight, std=0.1)
    seen = []

    def loss_fn(pred, target):
        seen.append(float((pred - target).abs().mean().detach()))
        return (pred - target).abs().mean()

    total = rim_step(model, batch, loss_fn)
    assert len(seen) == 3
    assert float(total.detach()) == pytest.approx(sum(seen) / 3, rel=1e-5)


def test_presets_and_bad_names():
    assert PRESETS["paper"].n_steps == 8 and PRESETS["paper"].hidden_channels == 64
    with pytest.raises(ValueError, match="Unknown rim preset 'big'.*paper"):
        model_config("rim", "big")
    with pytest.raises(ValueError, match="n_steps and hidden_channels must be >= 1"):
        model_config("rim", n_steps=0)
