"""`benchmark-mri prepare`: a split's coil maps computed ahead, then reused."""

import pytest

from benchmark_mri.cli import main
from benchmark_mri.data.fake_fastmri import make_tree

from .conftest import REPO

PATTERN = "fastmri_knee[n_train_volumes=0,n_test_volumes=None,n_slices=2]"


def test_prepare_fills_the_cache_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTMRI_ROOT", str(make_tree(tmp_path / "fastmri")))
    monkeypatch.setenv("BENCHMARK_MRI_CACHE", str(tmp_path / "cache"))
    assert main(["prepare", "-d", PATTERN, "-j", "2", "--benchmark", str(REPO)]) == 0
    assert "of 3 volume(s)" in capsys.readouterr().out
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 6  # 3 volumes x 2
    assert main(["prepare", "-d", PATTERN, "--benchmark", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "0 without cached espirit maps" in out and "of 0 volume(s)" in out


def test_prepare_says_when_the_data_are_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FASTMRI_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["prepare", "-d", "fastmri_brain", "--benchmark", str(REPO)])
    assert code == 2
    assert "fastMRI brain data not found" in capsys.readouterr().err


@pytest.mark.parametrize("shard", ["3/3", "a/b"])
def test_prepare_refuses_a_bad_shard(tmp_path, monkeypatch, capsys, shard):
    monkeypatch.setenv("FASTMRI_ROOT", str(make_tree(tmp_path / "fastmri")))
    code = main(["prepare", "-d", f"fastmri_knee[shard='{shard}']",
                 "--benchmark", str(REPO)])
    assert code == 2 and f"shard='{shard}' is" in capsys.readouterr().err


def test_prepare_says_what_it_is_for_on_a_dataset_in_memory(capsys):
    """`prepare -d phantom` said "run_context was not initialized"."""
    code = main(["prepare", "-d", "phantom[n_train_volumes=0,image_size=32]",
                 "--benchmark", str(REPO)])
    assert code == 2
    err = capsys.readouterr().err
    assert "phantom" in err and "its volumes are in memory" in err
    assert "fastmri_knee, fastmri_brain or fastmri_folder" in err
