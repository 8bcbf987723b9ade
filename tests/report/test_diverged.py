"""A diverged run in the dashboard: listed first, never ranked."""

import numpy as np

from benchmark_mri.report.html import render
from benchmark_mri.report.read import load_run
from benchmark_mri.report.table import overview_html, table_html

from .frames import callback_frame, write

BEST = "xpdnet[n_iter=5,test_iterations=5]"  # the best PSNR of the frame


def diverged_file(tmp_path, flag="objective_training_diverged"):
    """The frame's best solver diverged at its last point on phantom 4x: NaN
    metrics there and its flag set (the row LearnedRun / ista_l1 record)."""
    frame = callback_frame()
    frame[flag] = 0
    last = frame[(frame["solver_name"] == BEST)
                 & (frame["p_dataset_acceleration"] == 4)
                 & frame["dataset_name"].str.startswith("phantom")].index[-1]
    frame.loc[last, [flag, "objective_train_epochs"]] = [1, 2]
    for column in ("objective_psnr", "objective_ssim", "objective_nmse",
                   "objective_value"):
        frame.loc[last, column] = np.nan
    return write(frame, tmp_path / "diverged.parquet")


def _group(run):
    return next(g for g in run.groups
                if g.subtitle.startswith("phantom[acceleration=4"))


def test_the_diverged_run_is_the_first_problem(tmp_path):
    run = load_run(diverged_file(tmp_path))
    first = run.problems[0]
    assert first.startswith(f"{BEST} on phantom[acceleration=4")
    assert "DIVERGED after 2 completed training epoch(s)" in first
    assert "it is not ranked" in first
    # Its NaN metrics are explained by that sentence, not repeated as NaN.
    assert not any(BEST in p and "NaN or infinite" in p for p in run.problems)
    page = render(run, tmp_path, plotly_js="inline")
    problems = page.split('id="problems"')[1].split("</div>")[0]
    assert "DIVERGED" in problems.split("<li>")[1]  # at the top of the page


def test_the_tables_show_diverged_and_rank_the_others(tmp_path):
    run = load_run(diverged_file(tmp_path))
    group = _group(run)
    page = table_html(group, run.metrics, run.colors).replace("<wbr>", "")
    row = page.split(f"{BEST}</th>")[1].split("</tr>")[0]
    assert row.count('<span class="diverged">diverged</span>') == 3
    assert 'class="best"' not in row
    # The best PSNR now goes to the runner-up, which is highlighted.
    runner_up = "xpdnet[n_iter=5,test_iterations=2]"
    assert page.split(f"{runner_up}</th>")[1].split("</tr>")[0].count(
        'class="best"') >= 3
    overview = overview_html(run.groups, run.metrics, run.colors).replace("<wbr>", "")
    cells = overview.split(f"{BEST}</th>")[1].split("</tr>")[0]
    assert cells.count("diverged</span>") == 1  # phantom 4x only
    assert "diverged: the run diverged (never ranked)" in overview


def test_an_iterative_solvers_flag_counts_too(tmp_path):
    run = load_run(diverged_file(tmp_path, flag="objective_diverged"))
    assert "DIVERGED" in run.problems[0]
