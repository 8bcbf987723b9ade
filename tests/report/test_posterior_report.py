"""The dashboard of a posterior sampler (solvers/score_posterior.py): its
uncertainty metrics in the final table, its std maps in the gallery, its
metrics against the samples drawn."""

import numpy as np
import pandas as pd

from benchmark_mri.report.figures import samples_figure, sampling_rows
from benchmark_mri.report.html import build_report
from benchmark_mri.report.read import load_run
from benchmark_mri.results import FORMAT, gallery_slices

from .frames import PROVENANCE, callback_frame, write

SETTING = [("phantom", 4, "random")]


def posterior_rows(frame):
    """A score_posterior curve appended to `frame`: the start, 2 training
    points (eval_every), then 4 sampling points of 2 samples each."""
    base = frame[frame["solver_name"] == "zero_filled"].iloc[0].to_dict()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[-1:1:32j, -1:1:32j]
    target = np.stack([((xx**2 + yy**2) < 0.7).astype(np.float32)] * 3)
    recon = target + 0.05 * rng.standard_normal(target.shape).astype(np.float32)
    std = np.full_like(target, 0.04)
    final = {"format": FORMAT, "provenance": PROVENANCE,
             "slices": gallery_slices(["vol_a"], [target], [recon], stds=[std])}
    points = [(0, 0), (1, 10), (1, 20), (2, 30), (4, 30), (6, 30), (8, 30)]
    rows = []
    for k, (drawn, epochs) in enumerate(points):
        rows.append({**base, "solver_name": "score_posterior", "stop_val": k,
                     "sampling_strategy": "Callback", "time": 10.0 * k,
                     "objective_psnr": 20 + k, "objective_ssim": 0.5 + 0.03 * k,
                     "objective_n_samples_drawn": float(drawn),
                     "objective_train_epochs": float(epochs),
                     "objective_coverage_2sigma": (0.8 + 0.01 * k if drawn >= 2
                                                   else np.nan),
                     "objective_coverage_2sigma_std": 0.01,
                     "objective_mean_posterior_std": 0.03,
                     "objective_error_std_correlation": 0.3,
                     "objective_time_per_sample_s": 1.5,
                     "final_results": final if k == len(points) - 1 else None})
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def test_sampling_rows_are_those_after_training():
    frame = posterior_rows(callback_frame(settings=SETTING, failed=False, nan=False))
    rows = sampling_rows(frame)
    assert sorted(rows["_n"]) == [2, 4, 6, 8]
    assert set(rows["solver_name"]) == {"score_posterior"}


def test_the_dashboard_shows_uncertainty(tmp_path):
    frame = posterior_rows(callback_frame(settings=SETTING, failed=False, nan=False))
    path = write(frame, tmp_path / "posterior.parquet")
    run = load_run(path)
    fig = samples_figure(run.groups[0], run.metrics, run.colors)
    assert fig is not None
    assert [t.name for t in fig.data].count("score_posterior") == 3  # 3 panels
    page = build_report(path, tmp_path / "report").read_text()
    assert "Posterior samples" in page
    assert "coverage of |error| by 2 std" in page and "Spearman(|error|, std)" in page
    assert "time / sample / slice (s)" in page
    assert page.count("posterior std · ") == 1  # the one saved slice
    # Without a posterior sampler: no samples figure, no std row.
    plain = write(callback_frame(settings=SETTING), tmp_path / "plain.parquet")
    page = build_report(plain, tmp_path / "plain").read_text()
    assert "Posterior samples" not in page and "posterior std · " not in page
    assert "coverage of |error|" not in page
