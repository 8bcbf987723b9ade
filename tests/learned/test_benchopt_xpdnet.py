"""XPDNet through `benchopt run`: metrics in the result file, the checkpoint
cache across runs and over a test-time-iterations sweep, the no-train skip."""

import pandas as pd
import pytest

from ..conftest import benchopt_run

pytestmark = pytest.mark.slow  # every test here starts `benchopt run`

TINY = "image_size=32,n_coils=4,n_train_volumes=1,n_test_volumes=1,n_slices=2"
SOLVER = "xpdnet[n_iter=1,n_epochs=2,batch_size=2,test_iterations=[1,3]]"


def checkpoints(tmp_path):
    return {"BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"}


def test_sweep_trains_once_and_reports_memory_and_time(tmp_path):
    output = tmp_path / "sweep.parquet"
    # --timeout 1: a learned solver's fixed budget is not cut by benchopt's timeout.
    proc = benchopt_run("-d", f"phantom[{TINY}]", "-s", SOLVER, "--timeout", "1",
                        output=output, env=checkpoints(tmp_path))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert log.count("saved checkpoint") == 1 and log.count("reusing checkpoint") == 1
    assert len(list((tmp_path / "ckpt" / "xpdnet").glob("*.pt"))) == 1
    df = pd.read_parquet(output)
    finals = df.groupby("solver_name").tail(1)
    assert sorted(finals["objective_inference_iterations"]) == [1, 3]
    assert (finals["objective_train_iterations"] == 1).all()
    assert (finals["objective_inference_time_s"] > 0).all()
    assert (finals["objective_train_peak_memory_mb"] >= 0).all()
    # The run that trained drew one point per epoch (plus the untrained one).
    assert sorted(df.groupby("solver_name").size()) == [1, 3]

    # Running again reuses the checkpoint for every value.
    proc = benchopt_run("-d", f"phantom[{TINY}]", "-s", SOLVER,
                        output=tmp_path / "again.parquet", env=checkpoints(tmp_path))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert log.count("reusing checkpoint") == 2 and "saved checkpoint" not in log


def test_no_training_split_skips_with_the_reason(tmp_path):
    dataset = TINY.replace("n_train_volumes=1", "n_train_volumes=0")
    proc = benchopt_run("-d", f"phantom[{dataset}]",
                        "-s", "xpdnet[n_iter=1,n_epochs=1]",
                        output=tmp_path / "skip.parquet", env=checkpoints(tmp_path))
    log = proc.stdout + proc.stderr
    assert "the dataset has no training split" in log, log
