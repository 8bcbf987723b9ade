"""The transfer dataset's splits (benchmark_mri/data/transfer.py): training
from one source, test from another, and the sources it refuses."""

import pytest

from benchmark_mri.data.fake_fastmri import make_tree, write_volume
from benchmark_mri.data.fastmri import FastMRIFileError, VolumeRef
from benchmark_mri.data.transfer import transfer_split
from benchmark_mri.data.types import Volume

SMALL = dict(image_size=32, n_coils=4, n_slices=2)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    for i in range(3):
        write_volume(folder / f"scan_{i}.h5", seed=i, n_slices=1)
    return folder


def test_phantom_to_a_folder_trains_on_phantoms_and_tests_on_every_file(folder):
    data = transfer_split("phantom", "fastmri_folder", path=str(folder),
                          n_train_volumes=2, n_test_volumes=0, **SMALL)
    assert data["train_source"] == "phantom" and data["source"] == "fastmri_folder"
    assert [v.name for v in data["train"]] == ["phantom_train_000", "phantom_train_001"]
    assert all(isinstance(v, Volume) for v in data["train"])
    assert [r.name for r in data["test"]] == ["scan_0", "scan_1", "scan_2"]
    assert all(isinstance(r, VolumeRef) for r in data["test"])


def test_a_folder_trains_a_model_tested_on_the_phantom(folder):
    data = transfer_split("fastmri_folder", "phantom", path=str(folder),
                          n_train_volumes=3, n_test_volumes=1, **SMALL)
    assert len(data["train"]) == 3 and [v.name for v in data["test"]] == [
        "phantom_test_000"]


def test_a_folder_with_fewer_training_files_than_asked_is_refused(folder):
    with pytest.raises(FastMRIFileError, match=r"3 file\(s\), fewer than "
                       r"n_train_volumes=5; lower it"):
        transfer_split("fastmri_folder", "phantom", path=str(folder),
                       n_train_volumes=5, n_test_volumes=1, **SMALL)


def test_knee_to_brain_on_a_fastmri_tree(tmp_path):
    root = make_tree(tmp_path / "fastmri")
    data = transfer_split("fastmri_knee", "fastmri_brain", fastmri_root=root,
                          n_train_volumes=2, n_test_volumes=1, n_slices=1)
    assert all("knee" in str(r.info.path) and "train" in str(r.info.path)
               for r in data["train"])
    assert all("brain" in str(r.info.path) and "val" in str(r.info.path)
               for r in data["test"])
    assert len(data["train"]) == 2 and len(data["test"]) == 1


def test_a_source_that_is_not_here_is_skipped_saying_which(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTMRI_ROOT", raising=False)
    data = transfer_split("fastmri_knee", "phantom", fastmri_root=tmp_path / "none",
                          **SMALL)
    assert data["unavailable"].startswith("transfer: train='fastmri_knee': fastMRI "
                                          "knee data not found")


@pytest.mark.parametrize("train, test, counts, message", [
    ("phantoms", "phantom", {},
     r"transfer: train='phantoms' is not a data source: use one of phantom, "
     r"fastmri_knee, fastmri_brain, fastmri_folder\."),
    ("phantom", "knee", {},
     r"transfer: test='knee' is not a data source"),
    ("raw_noncartesian", "phantom", {},
     r"transfer: train='raw_noncartesian' has no training split \(its raw scans "
     r"are acquired undersampled"),
    ("fastmri_folder", "phantom", dict(n_train_volumes=0),
     r"transfer: train='fastmri_folder' with n_train_volumes=0 gives no training "
     r"split: set n_train_volumes >= 1"),
    ("phantom", "raw_noncartesian", {},
     r"transfer: test='raw_noncartesian' is sampled along its raw scans' own "
     r"trajectories, train='phantom' along the dataset's `trajectory`: sources of "
     r"different trajectories are refused"),
])
def test_sources_it_cannot_pair_are_refused_by_name(train, test, counts, message):
    with pytest.raises(ValueError, match=message):
        transfer_split(train, test, **counts, **SMALL)
