"""XPDNet: Haar transforms, MWCNN, map refinement, the unrolled model."""

import ptwt
import pytest
import torch

from benchmark_mri.learned import (
    Trainer,
    TrainSettings,
    make_batch,
    model_config,
    saved_tensors_mb,
)
from benchmark_mri.learned.mwcnn import MWCNN, MWCNN_SIZES, haar_dwt, haar_iwt
from benchmark_mri.learned.smaps_refiner import SmapsRefiner
from benchmark_mri.learned.xpdnet import PRESETS, XPDNet


def test_haar_dwt_is_ptwt_haar_and_iwt_inverts_it():
    x = torch.randn(2, 3, 8, 12, dtype=torch.float64)
    z = haar_dwt(x)
    assert z.shape == (2, 12, 4, 6)
    ll, bands = z[:, :3], z[:, 3:]
    approx, details = ptwt.wavedec2(x, "haar", level=1)
    assert torch.allclose(ll, approx, atol=1e-12)
    # Same detail sub-bands, up to the naming and sign conventions.
    ours = sorted(float(b.abs().sum()) for b in bands.chunk(3, dim=1))
    theirs = sorted(float(d.abs().sum()) for d in details)
    assert ours == pytest.approx(theirs)
    assert torch.allclose(haar_iwt(z), x, atol=1e-12)
    norm = float(torch.linalg.vector_norm(x))
    assert float(torch.linalg.vector_norm(z)) == pytest.approx(norm)


@pytest.mark.parametrize("size", sorted(MWCNN_SIZES))
def test_mwcnn_forward_every_size(size):
    net = MWCNN(12, 10, MWCNN_SIZES[size])
    out = net(torch.randn(1, 12, 16, 16))
    assert out.shape == (1, 10, 16, 16) and torch.isfinite(out).all()


def test_smaps_refiner_keeps_shape_and_unit_rss(split):
    smaps = split[0][0].smaps
    refined = SmapsRefiner()(smaps)
    assert refined.shape == smaps.shape and refined.dtype == torch.complex64
    rss = refined.abs().pow(2).sum(1).sqrt()
    assert torch.allclose(rss, torch.ones_like(rss), atol=1e-4)


@pytest.mark.parametrize("overrides", [
    dict(n_iter=2),
    dict(n_iter=2, refine_smaps=True),
    dict(n_iter=2, shared_weights=True),
])
def test_xpdnet_forward_shapes_and_test_time_iterations(split, overrides):
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps, m.target)
    model = XPDNet(model_config("xpdnet", **overrides))
    for n_iter in (None, 1, 4):
        x = model(batch.y, batch.physics, n_iter=n_iter)
        assert x.shape == (2, 32, 32) and x.dtype == torch.complex64


def test_untrained_xpdnet_returns_the_sense_adjoint(split):
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps)
    x = XPDNet(model_config("xpdnet", n_iter=2))(batch.y, batch.physics)
    assert torch.allclose(x, batch.physics.adjoint(batch.y), atol=1e-6)


def test_a_few_training_steps_lower_the_loss(split):
    train, _ = split
    torch.manual_seed(0)
    model = XPDNet(model_config("xpdnet", n_iter=2))
    trainer = Trainer(model, train, TrainSettings(lr=3e-3, batch_size=1), "cpu")
    losses = [trainer.epoch() for _ in range(4)]
    assert losses[-1] < 0.9 * losses[0], losses


def test_training_memory_grows_with_unrolled_iterations(split):
    """Deterministic proxy: MB of tensors autograd saves for backward."""
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps, m.target)
    sizes = {}
    for n_iter in (1, 2, 4):
        torch.manual_seed(0)
        model = XPDNet(model_config("xpdnet", n_iter=n_iter))
        sizes[n_iter] = saved_tensors_mb(
            lambda model=model: model(batch.y, batch.physics).abs().sum())
    print("saved tensors (MB) per unrolled iterations:", sizes)
    assert sizes[1] < sizes[2] < sizes[4]
    # Each iteration stores about the same: growth is linear in depth.
    assert sizes[4] - sizes[2] == pytest.approx(2 * (sizes[2] - sizes[1]), rel=0.1)


def test_presets_and_bad_names():
    leaderboard = PRESETS["leaderboard"]
    assert leaderboard.n_iter == 25
    assert leaderboard.mwcnn == "medium" and leaderboard.refine_smaps
    assert model_config("xpdnet", n_iter=None).n_iter == PRESETS["cpu_small"].n_iter
    with pytest.raises(ValueError, match="Unknown xpdnet preset 'huge'.*leaderboard"):
        model_config("xpdnet", "huge")
    with pytest.raises(ValueError, match="Unknown MWCNN size 'xl'"):
        model_config("xpdnet", mwcnn="xl")
    with pytest.raises(ValueError, match="n_iter and n_primal must be >= 1"):
        model_config("xpdnet", n_iter=0)
