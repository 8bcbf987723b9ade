"""Reading result files; what is missing is said, the rest still renders."""

import numpy as np
import pandas as pd
import pytest

from benchmark_mri.report.html import build_report
from benchmark_mri.report.read import ReportInputError, load_run

from .frames import callback_frame, write


def test_groups_colours_and_metrics(callback_file):
    run = load_run(callback_file)
    assert [g.title for g in run.groups] == [
        "fastmri_knee — 4× acceleration, equispaced mask",
        "phantom — 4× acceleration, random mask",
        "phantom — 8× acceleration, random mask"]
    assert len(set(run.colors.values())) == len(run.colors) == 6
    assert [m.column for m in run.metrics] == [
        "objective_psnr", "objective_ssim", "objective_nmse"]
    assert run.provenance["command"].startswith("benchopt run")


def test_failed_solver_and_nan_are_reported(callback_file):
    problems = load_run(callback_file).problems
    assert any(p.startswith("grappa[kernel_size=5] has no result on fastmri_knee[")
               and "failed" in p for p in problems)
    nan = [p for p in problems if "objective_ssim is NaN" in p]
    assert len(nan) == 2 and all("at 1 of 6 points" in p for p in nan)
    # Measurements absent for solvers that do not report them are no problem.
    assert not any("inference_time" in p for p in problems)
    assert len(problems) == 3


def test_another_benchmarks_file_still_renders(tmp_path):
    frame = pd.DataFrame({
        "objective_name": "Lasso Regression", "solver_name": ["cd", "cd", "ista"],
        "dataset_name": "simulated[n=100]", "idx_rep": 0, "stop_val": [1, 2, 1],
        "time": [0.1, 0.2, 0.3], "objective_value": [3.0, 2.0, np.nan],
        "objective_support_size": [4, 3, 5]})
    path = write(frame, tmp_path / "lasso.parquet")
    run = load_run(path)
    assert "looks like another benchmark's result file (objective 'Lasso Regression'" \
        in run.problems[0]
    assert "missing metric columns: objective_psnr, objective_ssim, objective_nmse" \
        in run.problems[0]
    assert "No reconstructions were saved" in " ".join(run.problems)
    assert [m.column for m in run.metrics] == ["objective_support_size"]
    page = build_report(path, tmp_path / "out").read_text()
    assert "What is missing" in page and "No saved reconstructions" in page


def test_empty_file(tmp_path):
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    with pytest.raises(ReportInputError, match=r"empty.parquet is empty \(0 bytes\)"):
        load_run(path)


def test_truncated_file(tmp_path, callback_file):
    data = open(callback_file, "rb").read()
    path = tmp_path / "truncated.parquet"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReportInputError, match="cannot be read .* truncated"):
        load_run(path)


def test_missing_file_and_not_a_benchopt_file(tmp_path):
    with pytest.raises(ReportInputError, match="does not exist"):
        load_run(tmp_path / "nope.parquet")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ReportInputError, match=r"lacks the columns \['solver_name'"):
        load_run(tmp_path / "other.parquet")


def test_no_rows(tmp_path):
    frame = callback_frame().iloc[:0]
    frame.to_parquet(tmp_path / "none.parquet")
    with pytest.raises(ReportInputError, match="has no rows"):
        load_run(tmp_path / "none.parquet")


def test_all_nan_solver_renders_with_na(tmp_path):
    frame = callback_frame(settings=[("phantom", 4, "random")], failed=False)
    frame.loc[frame["solver_name"] == "zero_filled",
              ["objective_psnr", "objective_ssim", "objective_nmse"]] = np.nan
    frame.loc[frame["solver_name"] == "zero_filled", "final_results"] = None
    path = write(frame, tmp_path / "nan.parquet")
    run = load_run(path)
    messages = " ".join(run.problems)
    assert "zero_filled on phantom[" in messages and "objective_psnr is NaN" in messages
    assert "zero_filled on phantom[acceleration=4" in messages
    assert "no reconstructions were saved; it is left out of the gallery" in messages
    page = build_report(path, tmp_path / "out").read_text()
    assert '<span class="na">n/a</span>' in page


def test_objective_parameters_in_the_name_are_this_benchmark(tmp_path):
    frame = callback_frame()
    frame["objective_name"] = "MRI reconstruction[smaps=espirit]"
    run = load_run(write(frame, tmp_path / "espirit.parquet"))
    assert not any("another benchmark" in p for p in run.problems)
