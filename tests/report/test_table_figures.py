"""Final table and figures of one dataset setting."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from benchmark_mri.report.figures import curves, inner_iterations_figure, memory_figure
from benchmark_mri.report.gallery import gallery_html
from benchmark_mri.report.read import load_run
from benchmark_mri.report.table import final_table, overview_html, table_html

from .frames import callback_frame, write


def _group(run, acceleration=4, dataset="phantom"):
    return next(g for g in run.groups if g.subtitle.startswith(
        f"{dataset}[acceleration={acceleration}"))


def test_final_table_takes_the_last_point_and_highlights_the_best(callback_file):
    run = load_run(callback_file)
    group = _group(run)
    table = final_table(group, run.metrics)
    last = group.frame[group.frame["solver_name"] == "ista_l1[lmbda=0.001]"].iloc[-1]
    assert table.loc["ista_l1[lmbda=0.001]", "objective_psnr"] == last["objective_psnr"]
    assert table.loc["ista_l1[lmbda=0.001]", "objective_psnr_std"] == 0.3
    assert np.isnan(table.loc["zero_filled", "objective_inference_time_s"])
    best = table["objective_psnr"].idxmax()
    page = table_html(group, run.metrics, run.colors).replace("<wbr>", "")
    row = page.split(f"{best}</th>")[1].split("</tr>")[0]
    assert row.count('class="best"') >= 3  # PSNR, SSIM, NMSE
    assert "peak train memory (MB)" in page and "forward_iterations" in page
    assert "± 0.3" in page and '<span class="na">n/a</span>' in page


def test_curves_one_colour_per_solver_nan_and_zero_time_handled(callback_file):
    run = load_run(callback_file)
    group = _group(run)
    fig = curves(group, run.metrics, run.colors, "time")
    assert isinstance(fig, go.Figure) and fig.layout.xaxis.type == "log"
    ista = [t for t in fig.data if t.name == "ista_l1[lmbda=0.001]"]
    assert len(ista) == 3 and {t.line.color for t in ista} == {
        run.colors["ista_l1[lmbda=0.001]"]}
    psnr, ssim = ista[0], ista[1]
    assert len(psnr.x) == 6 and len(ssim.x) == 5  # the NaN SSIM point is left out
    assert min(psnr.x) > 0  # time 0 drawn at half the smallest positive time
    by_iter = curves(group, run.metrics, run.colors, "stop_val")
    x = {t.name: list(t.x) for t in by_iter.data if t.showlegend}
    assert x["grappa[kernel_size=5]"] == [1]  # run once: one point at stop_val 1
    assert x["ista_l1[lmbda=0.001]"] == [0, 1, 2, 3, 4, 5]  # callback from 0


def test_test_time_view_marks_the_training_value(callback_file):
    run = load_run(callback_file)
    fig = inner_iterations_figure(_group(run), run.metrics, run.colors)
    assert len(fig.data) == 4  # (line, star) x (PSNR, SSIM)
    line, star = fig.data[0], fig.data[1]
    assert line.name == "xpdnet" and list(line.x) == [2, 5, 10]
    assert list(star.x) == [5] and star.marker.symbol == "star"
    assert star.y[0] == max(line.y)
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [(5, 5), (5, 5)]  # dotted


def test_no_test_time_view_without_a_sweep(callback_file):
    run = load_run(callback_file)
    group = _group(run)
    group.frame = group.frame[~group.frame["solver_name"].str.contains("=10]|=2]")]
    figure = inner_iterations_figure(group, run.metrics, run.colors)
    assert figure is None


def test_overview_marks_missing_results_and_the_best_per_setting(callback_file):
    run = load_run(callback_file)
    page = overview_html(run.groups, run.metrics, run.colors).replace("<wbr>", "")
    grappa = page.split("grappa[kernel_size=5]</th>")[1].split("</tr>")[0]
    assert grappa.startswith('<td><span class="na">—</span></td>')  # failed on knee
    winner = page.split("xpdnet[n_iter=5,test_iterations=5]</th>")[1].split("</tr>")[0]
    assert winner.count('class="best"') == 3


def test_gallery_keeps_to_its_byte_budget(callback_file):
    run = load_run(callback_file)
    group = _group(run)
    both = gallery_html(group, run.colors, max_slices=2)
    assert both.count('<div class="slice">') == 2
    assert both.count("data:image/png;base64,") == 2 * (1 + 2 * 6 + 1)
    one = gallery_html(group, run.colors, max_slices=2, budget=len(both) * 0.7)
    assert one.count('<div class="slice">') == 1
    assert "1 more saved slice(s) left out to keep the page small" in one


def test_repetitions_are_averaged_in_the_table_and_drawn_as_curves(tmp_path):
    frame = callback_frame(settings=[("phantom", 4, "random")], failed=False, nan=False)
    again = frame.assign(idx_rep=1, objective_psnr=frame["objective_psnr"] + 1)
    run = load_run(write(pd.concat([frame, again]), tmp_path / "reps.parquet"))
    (group,) = run.groups
    table = final_table(group, run.metrics)
    last = frame[frame["solver_name"] == "zero_filled"]["objective_psnr"].iloc[-1]
    assert table.loc["zero_filled", "objective_psnr"] == last + 0.5
    fig = curves(group, run.metrics, run.colors, "stop_val")
    zero = [t for t in fig.data if t.name == "zero_filled"]
    assert len(zero) == 6 and sum(t.showlegend for t in zero) == 1  # 2 reps x 3


def test_gallery_of_a_nan_reconstruction_says_n_a(tmp_path):
    frame = callback_frame(settings=[("phantom", 4, "random")], failed=False, nan=False)
    last = frame.index[frame["solver_name"] == "zero_filled"][-1]
    cell = frame.at[last, "final_results"]
    for s in cell["slices"]:
        s["recon"] = np.full_like(s["recon"], np.nan)
        s["psnr"] = s["ssim"] = float("nan")
    run = load_run(write(frame, tmp_path / "nan.parquet"))
    page = gallery_html(run.groups[0], run.colors)
    assert "<b>zero_filled</b><br>PSNR n/a dB · SSIM n/a" in page
    assert page.count("data:image/png;base64,") == 2 * (1 + 2 * 6 + 1)


def test_memory_figure_one_labelled_point_per_learned_configuration(callback_file):
    """Final PSNR against saved tensors and peak memory: the learned solvers'
    configurations only (the others report no training memory), their
    colours, their labels; None without any memory column."""
    run = load_run(callback_file)
    group = _group(run)
    fig = memory_figure(group, run.metrics, run.colors, run.labels)
    xpdnets = sorted(s for s in run.colors if s.startswith("xpdnet"))
    assert len(fig.data) == 2 * len(xpdnets)  # two panels
    assert {t.legendgroup for t in fig.data} == set(xpdnets)
    assert [t.x[0] for t in fig.data[:len(xpdnets)]] == [3.5] * len(xpdnets)
    assert {t.x[0] for t in fig.data[len(xpdnets):]} == {812.0}
    for trace in fig.data:
        assert trace.marker.color == run.colors[trace.legendgroup]
        assert trace.text[0] == run.labels.get(trace.legendgroup, trace.legendgroup)
        last = group.frame[group.frame["solver_name"] == trace.legendgroup].iloc[-1]
        assert trace.y[0] == last["objective_psnr"]
    assert fig.layout.xaxis.type == "log"
    memory = [c for c in group.frame.columns if c.endswith(
        ("saved_tensors_mb", "train_peak_memory_mb"))]
    group.frame = group.frame.drop(columns=memory)
    assert memory_figure(group, run.metrics, run.colors) is None
