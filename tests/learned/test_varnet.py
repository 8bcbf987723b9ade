"""E2E-VarNet against fastMRI's own VarNet: the same weights, the same input,
the same output; test-time cascades; training on the phantom."""

import numpy as np
import pytest
import torch

from benchmark_mri.data import center_crop
from benchmark_mri.learned import (
    Inference,
    LearnedRun,
    Pretrained,
    Trainer,
    Training,
    TrainSettings,
    build_model,
    model_config,
)
from benchmark_mri.learned.pretrained import load_pretrained
from benchmark_mri.learned.varnet import centre_columns
from benchmark_mri.physics import Sense

from .conftest import fastmri_volume, relative_error, tiny_split

SMALL = dict(n_cascades=2, channels=4, n_pools=2, smaps_channels=2, smaps_pools=2)
FASTMRI_SMALL = dict(num_cascades=2, chans=4, pools=2, sens_chans=2, sens_pools=2)


def fastmri_varnet(fastmri_models, seed=0, **sizes):
    """fastMRI's VarNet with random weights (and data-consistency weights
    moved off their initial 1), in eval mode."""
    torch.manual_seed(seed)
    model = fastmri_models.models.VarNet(**(sizes or FASTMRI_SMALL)).eval()
    with torch.no_grad():
        for cascade in model.cascades:
            cascade.dc_weight.uniform_(0.2, 1.5)
    return model


def fastmri_output(model, m) -> torch.Tensor:
    """fastMRI's reconstruction of a Measurement: its layout, real/imag last,
    mask (B, 1, 1, W, 1) bool."""
    with torch.no_grad():
        return model(torch.view_as_real(m.y), m.mask.bool()[..., None])


@pytest.fixture
def weights(fastmri_models, tmp_path):
    model = fastmri_varnet(fastmri_models)
    path = tmp_path / "varnet_state_dict.pt"
    torch.save(model.state_dict(), path)
    return model, path


def test_fastmri_weights_give_fastmris_output(weights):
    reference, path = weights
    _, (m,) = tiny_split(n_train=0)
    model = build_model(model_config("varnet", **SMALL)).eval()
    load_pretrained(model, path)
    with torch.no_grad():
        ours = model(m.y, Sense(m.mask, m.smaps))
    expected = fastmri_output(reference, m)
    assert ours.shape == expected.shape == (2, 32, 32)
    assert relative_error(ours, expected) < 1e-5


@pytest.mark.parametrize("data", ["phantom", "fastmri_file"])
def test_pipeline_with_the_pretrained_path_equals_fastmri(weights, data, tmp_path):
    """Through LearnedRun as the solver uses it: per-slice scaling, crop."""
    reference, path = weights
    if data == "phantom":
        _, test = tiny_split(n_train=0)
    else:
        _, m = fastmri_volume(tmp_path)
        test = [m]
    run = LearnedRun(Training("varnet", model_config("varnet", **SMALL), [],
                              TrainSettings(n_epochs=0), device="cpu",
                              smaps="objective", pretrained=Pretrained(path),
                              cache_dir=None, log=[].append), test)
    run.run(lambda: True)
    result = run.result()
    (recon,) = result["recon"]
    expected = center_crop(fastmri_output(reference, test[0]), test[0].target_size)
    assert recon.shape == expected.shape
    assert relative_error(recon, expected) < 1e-5
    assert result["pretrained_sha256"] == run.training.pretrained_sha256
    assert len(run.training.pretrained_sha256) == 64


def test_fewer_cascades_are_the_first_ones_and_more_are_refused(weights):
    reference, path = weights
    _, (m,) = tiny_split(n_train=0)
    model = build_model(model_config("varnet", **SMALL)).eval()
    load_pretrained(model, path)
    reference.cascades = reference.cascades[:1]
    with torch.no_grad():
        ours = model(m.y, Sense(m.mask, m.smaps), n_iter=1)
    assert relative_error(ours, fastmri_output(reference, m)) < 1e-5
    with pytest.raises(ValueError, match="test_iterations=3 is out of range: the "
                       "model runs 1 to 2 inner iterations"):
        LearnedRun(Training("varnet", model_config("varnet", **SMALL), [],
                            TrainSettings(n_epochs=0), pretrained=Pretrained(path),
                            cache_dir=None, log=[].append), [m], Inference(3))


def test_centre_columns_are_fastmris():
    mask = torch.zeros(3, 1, 1, 16, dtype=torch.bool)
    mask[0, ..., 6:10] = True                # the centre 6..9: 4 columns
    mask[1, ..., 5:10] = True                # asymmetric: 2 x min(3, 2)
    mask[1, ..., 0] = True                   # a column off the centre
    mask[2, ..., 8] = True                   # only the DC column: 1
    keep = centre_columns(mask)[:, 0, 0]
    assert keep[0].nonzero().flatten().tolist() == [6, 7, 8, 9]
    assert keep[1].nonzero().flatten().tolist() == [6, 7, 8, 9]
    assert keep[2].nonzero().flatten().tolist() == [8]


def test_a_few_training_steps_lower_the_loss():
    train, _ = tiny_split(n_train=2)
    torch.manual_seed(0)
    model = build_model(model_config("varnet", **SMALL))
    trainer = Trainer(model, train, TrainSettings(n_epochs=3, lr=3e-3, batch_size=2))
    losses = [trainer.epoch() for _ in range(3)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_non_cartesian_data_is_refused():
    model = build_model(model_config("varnet", **SMALL))
    with pytest.raises(TypeError, match="E2E-VarNet updates Cartesian k-space"):
        model(torch.zeros(1, 2, 10, dtype=torch.complex64), object())
