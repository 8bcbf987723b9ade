"""Shards of a fastMRI test split through benchopt: merged by the report into
the unsharded run's figures, with one training for all shards, sequentially,
with -j 2 and on a two-worker Dask cluster."""

import numpy as np
import pandas as pd
import pytest

from benchmark_mri.data.fake_fastmri import write_volume
from benchmark_mri.report.shards import merge_shards

from .conftest import benchopt_run, dask_cluster_config

DATASET = "fastmri_knee[n_train_volumes=2,n_test_volumes=None,n_slices=2{}]"
SHARDED = ",shard=['0/3','1/3','2/3']"
SOLVERS = ["-s", "zero_filled", "-s", "xpdnet[n_epochs=2,n_iter=1]"]
METRICS = ["objective_psnr", "objective_ssim", "objective_nmse",
           "objective_psnr_std", "objective_ssim_std", "objective_nmse_std",
           "objective_n_scored"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """2 training and 5 test volumes of a fastMRI-layout knee tree."""
    root = tmp_path_factory.mktemp("fastmri")
    for split, n in (("train", 2), ("val", 5)):
        for i in range(n):
            write_volume(root / "knee" / f"multicoil_{split}" / f"file{split}{i}.h5",
                         seed=10 * (split == "val") + i, size=(48, 40),
                         recon=(32, 32), padding=(3, 37))
    return root


def run(root, tmp_path, name, dataset, *args):
    output = tmp_path / f"{name}.parquet"
    proc = benchopt_run("-d", dataset, *SOLVERS, *args, output=output,
                        env={"FASTMRI_ROOT": root,
                             "BENCHMARK_MRI_CHECKPOINTS": tmp_path / f"ckpt_{name}"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return pd.read_parquet(output)


def final(frame):
    """The last point of each solver, by solver."""
    frame = frame.assign(solver=frame["solver_name"].str.split("[").str[0])
    last = frame.sort_values("stop_val").groupby("solver").last()
    return last[METRICS].sort_index()


@pytest.fixture(scope="module")
def unsharded(root, tmp_path_factory):
    return final(run(root, tmp_path_factory.mktemp("one"), "one", DATASET.format("")))


def check_sharded(frame, unsharded):
    xpdnet = frame[frame["solver_name"].str.startswith("xpdnet")]
    reused = xpdnet.groupby("p_dataset_shard")["objective_reused_checkpoint"].max()
    assert sorted(reused) == [0, 1, 1]  # one shard trained, two reused its weights
    merged, notes = merge_shards(frame)
    assert not any("missing" in note for note in notes), notes
    np.testing.assert_allclose(final(merged).to_numpy(), unsharded.to_numpy(),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_shards_merge_into_the_unsharded_run(root, tmp_path, unsharded):
    check_sharded(run(root, tmp_path, "seq", DATASET.format(SHARDED)), unsharded)


@pytest.mark.slow
def test_shards_with_two_jobs(root, tmp_path, unsharded):
    check_sharded(run(root, tmp_path, "jobs", DATASET.format(SHARDED), "-j", "2"),
                  unsharded)


@pytest.mark.slow
def test_shards_on_a_dask_cluster(root, tmp_path, unsharded, monkeypatch):
    # The cluster's workers run the tasks: they read these, not benchopt's.
    monkeypatch.setenv("FASTMRI_ROOT", str(root))
    monkeypatch.setenv("BENCHMARK_MRI_CHECKPOINTS", str(tmp_path / "ckpt_dask"))
    with dask_cluster_config(tmp_path) as config_file:
        frame = run(root, tmp_path, "dask", DATASET.format(SHARDED),
                    "--parallel-config", str(config_file))
    check_sharded(frame, unsharded)
