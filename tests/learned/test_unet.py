"""fastMRI's U-Net baseline against fastMRI's own Unet and data transform."""

import numpy as np
import pytest
import torch

from benchmark_mri.learned import (
    LearnedRun,
    Pretrained,
    Trainer,
    Training,
    TrainSettings,
    build_model,
    model_config,
)
from benchmark_mri.learned.pretrained import load_pretrained
from benchmark_mri.learned.unet import UNet, fastmri_unet_key

from .conftest import fastmri_volume, relative_error, tiny_split


def fastmri_unet(fastmri_models, chans=4, pools=2, seed=0):
    torch.manual_seed(seed)
    return fastmri_models.models.Unet(1, 1, chans=chans, num_pool_layers=pools).eval()


def fastmri_baseline(fastmri, model, m) -> torch.Tensor:
    """fastMRI's U-Net reconstruction of a Measurement, slice by slice as its
    UnetDataTransform and UnetModule do: (S, h, w)."""
    transforms = fastmri.data.transforms
    out = []
    for y in m.y:  # (C, H, W)
        image = fastmri.ifft2c(torch.view_as_real(y))
        image = transforms.complex_center_crop(image, m.target_size)
        image = fastmri.rss(fastmri.complex_abs(image))
        image, mean, std = transforms.normalize_instance(image, eps=1e-11)
        with torch.no_grad():
            output = model(image.clamp(-6, 6)[None, None])[0, 0]
        out.append(output * std + mean)
    return torch.stack(out)


@pytest.mark.parametrize("size", [(32, 32), (30, 22)])  # odd sizes: reflect pad
def test_network_with_fastmri_weights_gives_fastmris_output(fastmri_models, size):
    reference = fastmri_unet(fastmri_models, pools=3)
    ours = UNet(1, 1, 4, 3).eval()
    ours.load_state_dict({fastmri_unet_key(k): v
                          for k, v in reference.state_dict().items()})
    x = torch.randn(2, 1, *size)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) < 1e-5


@pytest.mark.parametrize("data", ["phantom", "fastmri_file"])
def test_baseline_through_the_pipeline_equals_fastmri(fastmri_models, data,
                                                      tmp_path):
    reference = fastmri_unet(fastmri_models)
    path = tmp_path / "unet_state_dict.pt"
    torch.save(reference.state_dict(), path)
    if data == "phantom":
        _, test = tiny_split(n_train=0)
    else:
        _, m = fastmri_volume(tmp_path)
        test = [m]
        assert m.target_size != tuple(m.y.shape[-2:])  # cropped before the U-Net
    config = model_config("unet", channels=4, n_pools=2)
    run = LearnedRun(Training("unet", config, [], TrainSettings(n_epochs=0),
                              device="cpu", pretrained=Pretrained(path),
                              cache_dir=None, log=[].append), test)
    run.run(lambda: True)
    (recon,) = run.result()["recon"]
    expected = fastmri_baseline(fastmri_models, reference, test[0])
    assert recon.shape == expected.shape
    assert relative_error(recon, expected) < 1e-5


def test_fastmri_names_and_the_benchmarks_own_both_load(fastmri_models, tmp_path):
    reference = fastmri_unet(fastmri_models)
    model = build_model(model_config("unet", channels=4, n_pools=2))
    torch.save(reference.state_dict(), tmp_path / "fastmri.pt")
    load_pretrained(model, tmp_path / "fastmri.pt")
    torch.save(model.state_dict(), tmp_path / "ours.pt")
    again = build_model(model_config("unet", channels=4, n_pools=2))
    load_pretrained(again, tmp_path / "ours.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_a_few_training_steps_lower_the_loss():
    train, _ = tiny_split(n_train=2)
    torch.manual_seed(0)
    model = build_model(model_config("unet", channels=4, n_pools=2))
    trainer = Trainer(model, train, TrainSettings(n_epochs=3, lr=3e-3, batch_size=2))
    losses = [trainer.epoch() for _ in range(3)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_inner_iterations_are_refused():
    model = build_model(model_config("unet", channels=4, n_pools=2))
    with pytest.raises(ValueError, match="The U-Net has no inner iterations"):
        model(torch.zeros(1, 2, 32, 32, dtype=torch.complex64), None, n_iter=2)
