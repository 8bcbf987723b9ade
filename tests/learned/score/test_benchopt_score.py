"""`benchopt run` with score_posterior on the tiny phantom: the result file
holds the uncertainty metrics and the samples curve; a diverging sampler is
a recorded result with NaN metrics, other solvers unaffected."""

import numpy as np
import pandas as pd
import pytest
from benchopt.results import read_results

from ...conftest import TINY, benchopt_run

pytestmark = pytest.mark.slow

SMALL = "channels=4,n_levels=2,n_epochs=2,batch_size=2,n_samples=4,n_steps=1"


def test_benchopt_run_records_the_posterior(tmp_path):
    output = tmp_path / "score.parquet"
    proc = benchopt_run("-d", f"phantom[{TINY}]", "-s", "zero_filled",
                        "-s", f"score_posterior[{SMALL},step_size=[0.6,10000.0]]",
                        output=output,
                        env={"BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    frame = pd.read_parquet(output)
    last = frame.groupby("solver_name").tail(1).set_index("solver_name")
    good = last.loc["score_posterior[" + next(
        n.split("[", 1)[1] for n in last.index if "step_size=0.6" in n)]
    assert good["objective_n_samples_drawn"] == 4
    for name in ("coverage_2sigma", "mean_posterior_std", "error_std_correlation"):
        assert np.isfinite(good[f"objective_{name}"]), name
        assert f"objective_{name}_std" in frame.columns
    assert 0 < good["objective_coverage_2sigma"] <= 1
    assert good["objective_time_per_sample_s"] > 0
    assert good["objective_diverged"] == 0
    curve = frame[frame["solver_name"] == good.name]
    assert curve["objective_n_samples_drawn"].tolist() == [0, 2, 4]

    bad = last.loc[[n for n in last.index if "step_size=10000" in n][0]]
    assert bad["objective_diverged"] == 1
    assert np.isnan(bad[["objective_psnr", "objective_coverage_2sigma"]].astype(float)
                    ).all()
    assert "HMC sampler diverged" in log and "lower the step size" in log
    assert np.isfinite(last.loc["zero_filled", "objective_psnr"])

    saved = read_results(output)
    cells = saved.loc[saved["solver_name"] == good.name, "final_results"].dropna()
    assert all("std" in s for s in cells.iloc[-1]["slices"])
