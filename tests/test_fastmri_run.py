"""`benchopt run` on fastMRI files: a generated tree, the real shared files,
and no data at all."""

import os

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from benchmark_mri.data.fake_fastmri import make_tree, write_volume
from benchmark_mri.data.transforms import center_crop
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling, ifft2c, rss

from .conftest import REPO, SHARED_DATA, benchopt_run

REAL = SHARED_DATA / "fastmri_format"
pytestmark = pytest.mark.slow  # every test here starts `benchopt run`


def fastmri_run(*args, output, **env_vars):
    """benchopt run with exactly the fastMRI location given in env_vars."""
    return benchopt_run(*args, output=output, env={"FASTMRI_ROOT": None, **env_vars})


def zero_filled_from_the_file(path, n_slices, sampling):
    """The zero-filled reconstruction and target of a file's central slices,
    rebuilt here with h5py and fastMRI's rules (padding columns never
    sampled, 320 crop), independently of benchmark_mri.data.fastmri."""
    with h5py.File(path) as f:
        S = f["kspace"].shape[0]
        start = (S - n_slices) // 2
        kspace = torch.from_numpy(f["kspace"][start : start + n_slices])
        target = torch.from_numpy(f["reconstruction_rss"][start : start + n_slices])
        xml = f["ismrmrd_header"][()].decode()
    center = int(xml.split("<center>")[1].split("<")[0])
    maximum = int(xml.split("<maximum>")[1].split("<")[0])
    left = kspace.shape[-1] // 2 - center  # encoded y = kspace width here
    mask = sampling.mask(path.stem, n_slices, kspace.shape[-1]).clone()
    mask[..., :left] = False
    mask[..., left + maximum + 1 :] = False
    size = tuple(min(s, 320) for s in target.shape[-2:])
    recon = center_crop(rss(ifft2c(kspace * mask)), size)
    return center_crop(target, size), recon


def test_fastmri_knee_metrics_equal_fastmris_formula(tmp_path):
    # Found through benchopt's data path (<data_home>/fastmri), no FASTMRI_ROOT.
    root = make_tree(tmp_path / "fastmri")
    output = tmp_path / "knee.parquet"
    proc = fastmri_run(
        "-d", "fastmri_knee[n_train_volumes=1,n_test_volumes=2,n_slices=2]",
        "-s", "zero_filled", output=output, BENCHOPT_DATA_HOME=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    row = pd.read_parquet(output).iloc[-1]

    sampling = CartesianSampling("random", 4)
    folder = root / "knee" / "multicoil_val"
    pairs = [zero_filled_from_the_file(folder / f"file10{i:02d}.h5", 2, sampling)
             for i in (3, 4)]
    scores = evaluate_volumes([t for t, _ in pairs], [r for _, r in pairs])
    for name in ("psnr", "ssim", "nmse"):
        assert row[f"objective_{name}"] == pytest.approx(np.mean(scores[name]),
                                                         rel=1e-5)
    assert 10 < row["objective_psnr"] < 60


def test_without_data_fastmri_datasets_are_skipped_saying_how(tmp_path):
    output = tmp_path / "run.parquet"
    tiny = "image_size=32,n_coils=2,n_train_volumes=0,n_test_volumes=1,n_slices=1"
    proc = fastmri_run(
        "-d", f"phantom[{tiny}]", "-d", "fastmri_knee", "-d", "fastmri_brain",
        "-d", "fastmri_folder", "-s", "zero_filled", output=output,
        BENCHOPT_DATA_HOME=str(tmp_path / "no_data"),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert out.count("export FASTMRI_ROOT=/path/to/fastmri") == 2, out[-3000:]
    assert "data_paths: {fastmri: /path/to/fastmri}" in out
    assert 'fastmri_folder[path=/path/to/folder]' in out
    assert set(pd.read_parquet(output)["dataset_name"].str.split("[").str[0]) == {
        "phantom"
    }


def test_singlecoil_file_in_a_multicoil_run_fails_naming_it(tmp_path):
    root = make_tree(tmp_path / "fastmri")
    write_volume(root / "knee" / "multicoil_val" / "file1000.h5", 0, singlecoil=True)
    proc = fastmri_run(
        "-d", "fastmri_knee[n_train_volumes=0,n_test_volumes=1,n_slices=1]",
        "-s", "zero_filled", output=tmp_path / "bad.parquet",
        FASTMRI_ROOT=str(root),
    )
    assert proc.returncode != 0
    assert "file1000.h5: a singlecoil file" in proc.stdout + proc.stderr


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real fastMRI-layout files absent: {REAL}"
)
def test_fastmri_folder_runs_on_the_real_files(tmp_path):
    output = tmp_path / "real.parquet"
    # The path as a user types it, relative to the benchmark's folder; quoted
    # because benchopt's parameter parser rejects a bare value starting
    # with '..' (or '~').
    path = os.path.relpath(REAL, REPO)
    proc = fastmri_run("-d", f"fastmri_folder[path='{path}']", "-s",
                        "zero_filled", output=output)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    row = pd.read_parquet(output).iloc[-1]
    assert 15 < row["objective_psnr"] < 50 and 0 < row["objective_ssim"] < 1


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real fastMRI-layout files absent: {REAL}"
)
def test_fastmri_folder_with_retrospective_radial_sampling(tmp_path):
    output = tmp_path / "radial.parquet"
    path = os.path.relpath(REAL, REPO)
    proc = fastmri_run(
        "-d", f"fastmri_folder[path='{path}',trajectory=radial,acceleration=8,"
        "n_test_volumes=1,n_slices=1]", "-s", "zero_filled", "-s", "ista_l1",
        "--max-runs", "10",
        output=output)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = pd.read_parquet(output)
    final = results.sort_values("stop_val").groupby("solver_name").last()
    assert final["objective_psnr"].between(15, 50).all(), final["objective_psnr"]
    ista = final.loc[final.index.str.startswith("ista_l1"), "objective_psnr"]
    zero_filled = final.loc["zero_filled", "objective_psnr"]
    assert (ista > zero_filled).all(), final["objective_psnr"]


def test_transfer_trains_on_knees_and_tests_on_brains(tmp_path):
    """The transfer dataset on a fastMRI-layout tree: the training split from
    knee/multicoil_train, the test split from brain/multicoil_val; the rows
    say so."""
    root = make_tree(tmp_path / "fastmri")
    output = tmp_path / "transfer.parquet"
    proc = fastmri_run(
        "-d", "transfer[train=fastmri_knee,test=fastmri_brain,n_train_volumes=1,"
        "n_test_volumes=1,n_slices=1]", "-s", "xpdnet[n_epochs=1,n_iter=1]",
        "-s", "zero_filled", output=output, FASTMRI_ROOT=str(root),
        BENCHMARK_MRI_CHECKPOINTS=str(tmp_path / "checkpoints"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    final = pd.read_parquet(output).groupby("solver_name").tail(1)
    final = final.set_index(final["solver_name"].str.split("[").str[0])
    assert set(final["objective_test_source"]) == {"fastmri_brain"}
    assert final.loc["xpdnet", "objective_train_source"] == "fastmri_knee"
    assert final.loc["xpdnet", "objective_train_acceleration"] == 4.0
    assert pd.isna(final.loc["zero_filled", "objective_train_source"])  # no training
    assert final["objective_psnr"].between(5, 60).all(), final["objective_psnr"]


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real fastMRI-layout files absent: {REAL}"
)
def test_transfer_from_the_phantom_is_scored_on_the_real_slices(tmp_path):
    """The issue's command, small: models trained on the phantom, GRAPPA and
    zero-filled beside them, every real slice scored."""
    output = tmp_path / "real.parquet"
    path = os.path.relpath(REAL, REPO)
    proc = fastmri_run(
        "-d", f"transfer[train=phantom,test=fastmri_folder,path='{path}',"
        "image_size=64,n_coils=4,n_train_volumes=2,n_slices=2,n_test_volumes=4]",
        "-s", "xpdnet[n_epochs=1,n_iter=1]", "-s", "grappa", "-s", "zero_filled",
        output=output, BENCHMARK_MRI_CHECKPOINTS=str(tmp_path / "checkpoints"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    final = pd.read_parquet(output).groupby("solver_name").tail(1)
    assert (final["objective_n_scored"] == 4).all()
    assert set(final["objective_test_source"]) == {"fastmri_folder"}
    assert final["objective_psnr"].between(10, 60).all(), final["objective_psnr"]
