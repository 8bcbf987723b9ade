"""Learned solvers on non-Cartesian data: the data term models see, batching
by trajectory, and XPDNet's NC-PDNet variant trained on a tiny radial phantom."""

import numpy as np
import pytest
import torch

from benchmark_mri.classical import zero_filled
from benchmark_mri.data import measure, phantom_volumes
from benchmark_mri.data.types import data_term
from benchmark_mri.learned import (
    Trainer,
    TrainSettings,
    build_model,
    model_config,
    reconstruct,
)
from benchmark_mri.learned.data import collate, group_slices, training_batches
from benchmark_mri.learned.deq import DEQConfig, DEQRecon, deq_step
from benchmark_mri.learned.rim import rim_step
from benchmark_mri.learned.training import default_step
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CoilNufft, DensityWeighted, op_norm
from benchmark_mri.physics.trajectories import NonCartesianSampling

SHAPE = dict(image_size=32, n_coils=4, n_slices=2)


def radial_split(n_train=3, trajectory="radial", acceleration=2):
    sampling = NonCartesianSampling(trajectory, acceleration)
    train = [measure(v, sampling, True) for v in phantom_volumes("train", n_train, 0,
                                                                  **SHAPE)]
    volumes = phantom_volumes("test", 1, 0, **SHAPE)
    return train, [measure(v, sampling, False) for v in volumes], volumes


def test_density_compensated_data_term_gives_the_gridding_image():
    _, (m,), _ = radial_split()
    physics, y = data_term(m.y, m.smaps, None, m.traj, m.dcf)
    nufft = CoilNufft(m.traj, m.image_shape)
    expected = torch.sum(m.smaps.conj() * nufft.adjoint(m.dcf * m.y), dim=1)
    assert torch.allclose(physics.adjoint(y), expected, atol=1e-5)


def test_plain_data_term_is_scaled_to_unit_norm():
    _, (m,), _ = radial_split()
    physics, y = data_term(m.y, m.smaps, None, m.traj, m.dcf,
                           density_compensation=False)
    nufft = CoilNufft(m.traj, m.image_shape)
    # Uniform weights: the plain adjoint, up to one constant.
    ratio = physics.adjoint(y) / torch.sum(m.smaps.conj() * nufft.adjoint(m.y), 1)
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-3)
    # ||A^H w A|| = 1 for the NUFFT; the maps (RSS <= 1) can only lower it.
    weighted = DensityWeighted(nufft, physics.sqrt_dcf ** 2)
    image = torch.zeros(1, *m.image_shape, dtype=torch.complex64)
    assert op_norm(weighted, image) == pytest.approx(1.0, abs=0.01)
    assert 0.5 < op_norm(physics, image.expand(m.y.shape[0], -1, -1)) <= 1.01


def test_batches_group_slices_by_trajectory():
    radial, _, _ = radial_split(n_train=2)
    spiral, _, _ = radial_split(n_train=1, trajectory="spiral")
    train = radial + spiral
    groups = group_slices(train)
    assert sorted(len(g) for g in groups) == [2, 4]
    batches = list(training_batches(train, 8, torch.Generator().manual_seed(0)))
    assert sorted(b.y.shape[0] for b in batches) == [2, 4]
    batch = collate(train, groups[0])
    assert batch.y.shape[-1] == train[groups[0][0].volume].y.shape[-1]
    assert batch.target.shape == (len(groups[0]), 32, 32)


@pytest.mark.parametrize("density_compensation", [True, False])
def test_both_variants_share_the_image_scale(density_compensation):
    train, _, _ = radial_split(n_train=1)
    (group,) = group_slices(train)
    batch = collate(train, group, density_compensation=density_compensation)
    compensated = collate(train, group)
    assert torch.allclose(batch.scale, compensated.scale)
    assert torch.allclose(batch.target, compensated.target)


def test_nc_pdnet_trains_past_the_gridding_reconstruction():
    train, test, volumes = radial_split(acceleration=4)
    targets = [v.target for v in volumes]
    torch.manual_seed(0)
    model = build_model(model_config("xpdnet", n_iter=2))
    trainer = Trainer(model, train, TrainSettings(n_epochs=6, lr=3e-3, batch_size=2))
    for _ in range(6):
        trainer.epoch()
    learned = evaluate_volumes(targets, [reconstruct(model.eval(), m) for m in test])
    gridding = evaluate_volumes(targets, [zero_filled(m) for m in test])
    print(f"radial 4x, 32 px: gridding {gridding['psnr'][0]:.2f} dB, "
          f"NC-PDNet {learned['psnr'][0]:.2f} dB")
    assert np.isfinite(learned["psnr"]).all()
    assert learned["psnr"][0] > gridding["psnr"][0] + 2


@pytest.mark.parametrize("name", ["rim", "deq", "deq_opa"])
def test_rim_and_deq_train_and_reconstruct_on_radial_data(name):
    train, test, _ = radial_split(n_train=1)
    torch.manual_seed(0)
    if name == "rim":
        model, step = build_model(model_config("rim", n_steps=2)), rim_step
    elif name == "deq":
        model, step = DEQRecon(DEQConfig(channels=4, forward_max_iter=10)), default_step
    else:  # outer-problem awareness: its loss sees the image, not y's (C, K)
        model = DEQRecon(DEQConfig(channels=4, forward_max_iter=10, backward="shine",
                                   opa_every=2))
        step = deq_step
    trainer = Trainer(model, train, TrainSettings(n_epochs=1, batch_size=2),
                      step_fn=step)
    assert np.isfinite(trainer.epoch())
    if name == "deq_opa":
        assert all(h["opa_products"] >= 1 for h in model.history)
    recon = reconstruct(model.eval(), test[0])
    assert recon.shape == (2, 32, 32) and torch.isfinite(recon).all()
