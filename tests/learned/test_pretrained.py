"""Loading pretrained weights: digests, and every bad file named clearly."""

import pytest
import torch

from benchmark_mri.learned import (
    LearnedRun,
    Pretrained,
    Training,
    TrainSettings,
    build_model,
    model_config,
)
from benchmark_mri.learned.pretrained import file_sha256, load_pretrained

from .conftest import tiny_split

SMALL = dict(n_cascades=2, channels=4, n_pools=2, smaps_channels=2, smaps_pools=2)


def varnet(**overrides):
    return build_model(model_config("varnet", **{**SMALL, **overrides}))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(varnet().state_dict(), path)
    return path


def test_the_digest_is_returned_and_checked(saved):
    digest = load_pretrained(varnet(), saved, sha256=file_sha256(saved).upper())
    assert digest == file_sha256(saved)
    with pytest.raises(ValueError, match=f"pretrained={saved} has sha256 {digest}, "
                       "not the expected pretrained_sha256=00ff: another or a "
                       "corrupted file"):
        load_pretrained(varnet(), saved, sha256="00ff")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="pretrained=.*nothing.pt: no such"):
        load_pretrained(varnet(), tmp_path / "nothing.pt")


def test_a_truncated_file_is_named(saved):
    saved.write_bytes(saved.read_bytes()[:200])
    with pytest.raises(ValueError, match=f"pretrained={saved} cannot be read as a "
                       "torch state dict .*truncated"):
        load_pretrained(varnet(), saved)


def test_something_else_than_a_state_dict_is_named(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(ValueError, match="is not a state dict .* it holds a list"):
        load_pretrained(varnet(), path)


def test_another_architecture_lists_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / "unet.pt"
    torch.save(build_model(model_config("unet", channels=4, n_pools=2)).state_dict(),
               path)
    with pytest.raises(ValueError) as error:
        load_pretrained(varnet(), path)
    message = str(error.value)
    assert f"pretrained={path} does not fit VarNet(VarNetConfig(" in message
    assert "missing keys ['cascades.0.dc_weight'" in message
    assert "unexpected keys ['unet.bottleneck.conv1.weight'" in message
    assert "Weights of another architecture, or of another size (preset)?" in message


def test_another_size_names_the_first_shape_mismatch(tmp_path):
    path = tmp_path / "wide.pt"
    torch.save(varnet(channels=8).state_dict(), path)
    with pytest.raises(ValueError, match=r"first shape mismatch "
                       r"'cascades.0.norm_unet.unet.encoders.0.conv1.weight': "
                       r"\(8, 2, 3, 3\) in the file, \(4, 2, 3, 3\) in the model"):
        load_pretrained(varnet(), path)


def test_fine_tuning_records_the_start_in_the_checkpoint(saved, tmp_path):
    train, test = tiny_split(n_train=1)
    settings = TrainSettings(n_epochs=1, batch_size=2)
    run = LearnedRun(Training("varnet", model_config("varnet", **SMALL), train,
                              settings, device="cpu", pretrained=Pretrained(saved),
                              cache_dir=tmp_path, log=[].append), test)
    run.run(lambda: True)
    (path,) = (tmp_path / "varnet").glob("*.pt")
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["settings"]["init_sha256"] == file_sha256(saved)
    scratch = Training("varnet", model_config("varnet", **SMALL), train, settings,
                       device="cpu", cache_dir=tmp_path, log=[].append)
    assert scratch.key != run.training.key  # from scratch: another checkpoint


def test_evaluation_without_training_needs_weights():
    _, test = tiny_split(n_train=0)
    with pytest.raises(ValueError, match="varnet: n_epochs=0 evaluates pretrained "
                       "weights without training: give pretrained=PATH"):
        Training("varnet", model_config("varnet", **SMALL), [],
                 TrainSettings(n_epochs=0), cache_dir=None, log=[].append)
