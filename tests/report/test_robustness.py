"""The robustness view (report/robustness.py) and the page parts issue 26
reshaped: the final table's folded details, iterations and epochs on their
own axes, the start of a curve on the log time axis, short gallery captions."""

import numpy as np
import pandas as pd
import pytest

from benchmark_mri.report.figures import curves
from benchmark_mri.report.gallery import gallery_html
from benchmark_mri.report.html import render
from benchmark_mri.report.read import load_run
from benchmark_mri.report.robustness import (
    IN_DISTRIBUTION,
    REFERENCE,
    SHIFTED,
    robustness_rows,
    solver_drops,
    summarise,
)
from benchmark_mri.report.table import table_html

from .frames import PROVENANCE, write

# PSNR of xpdnet trained at `train`, tested at `test`, repetition 0 and 1.
XPDNET = {(4, 4): (30.0, 30.4), (8, 8): (27.0, 27.2), (4, 8): (25.0, 25.6),
          (8, 4): (28.0, 28.0)}
ZERO_FILLED = {4: 22.0, 8: 19.0}
XP = "xpdnet[lr=0.002,train_acceleration={},train_mask_type=None]"


def _final(psnr):
    from benchmark_mri.results import FORMAT, gallery_slices

    target = np.ones((1, 8, 8), np.float32)
    recon = target * (1 - 10 ** (-psnr / 20))
    return {"format": FORMAT, "provenance": PROVENANCE,
            "slices": gallery_slices(["vol"], [target], [recon])}


def _row(dataset, acceleration, solver, rep, stop_val, psnr, trained=None):
    row = {"objective_name": "MRI reconstruction", "dataset_name": dataset,
           "solver_name": solver, "idx_rep": rep, "stop_val": stop_val,
           "time": 0.5 * stop_val + 2e-6, "objective_psnr": psnr,
           "objective_psnr_std": 0.1, "objective_ssim": psnr / 40,
           "objective_ssim_std": 0.01, "objective_nmse": 10 ** (-psnr / 10),
           "objective_nmse_std": 0.001, "p_dataset_acceleration": acceleration,
           "p_dataset_mask_type": "random", "objective_test_source": "phantom",
           "objective_test_acceleration": float(acceleration),
           "objective_test_mask_type": "random", "objective_train_source": None,
           "objective_train_acceleration": np.nan, "objective_train_mask_type": None,
           "objective_saved_tensors_mb": np.nan, "objective_forward_iterations": 3.0,
           "final_results": None}
    if trained is not None:
        row.update(objective_train_source="phantom",
                   objective_train_acceleration=float(trained),
                   objective_train_mask_type="random", objective_train_epochs=stop_val,
                   objective_train_peak_memory_mb=900.0,
                   objective_inference_time_s=0.02)
    return row


def shift_frame() -> pd.DataFrame:
    """phantom at 4x and 8x; zero_filled; xpdnet trained at the test's
    acceleration (train_acceleration=None) and at the other one; two
    repetitions; curves of 3 epochs for xpdnet."""
    rows = []
    for test in (4, 8):
        dataset = f"phantom[acceleration={test}]"
        for rep in (0, 1):
            rows.append(_row(dataset, test, "zero_filled", rep, 1, ZERO_FILLED[test]))
            for given in (None, 4 if test == 8 else 8):
                trained = test if given is None else given
                final = XPDNET[trained, test][rep]
                for epoch in range(4):
                    rows.append(_row(dataset, test, XP.format(given), rep, epoch,
                                     final - 3 + epoch, trained))
    frame = pd.DataFrame(rows)
    last = frame.groupby(["dataset_name", "solver_name", "idx_rep"]).tail(1).index
    frame["final_results"] = frame["final_results"].astype(object)
    for i in last:
        frame.at[i, "final_results"] = _final(frame.at[i, "objective_psnr"])
    return frame


@pytest.fixture(scope="module")
def shift_file(tmp_path_factory):
    return write(shift_frame(), tmp_path_factory.mktemp("shift") / "shift.parquet")


def test_rows_pair_each_shift_with_its_in_distribution_run():
    rows = robustness_rows(shift_frame())
    model = XP.format(None).replace(",train_acceleration=None", "").replace(
        ",train_mask_type=None", "")
    assert set(rows["model"]) == {"zero_filled", model}
    shifted = rows[rows["kind"] == SHIFTED].set_index(["test", "rep"])
    at8 = ("phantom", 8.0, "random")
    assert shifted.loc[(at8, 0), "train"] == ("phantom", 4.0, "random")
    assert shifted.loc[(at8, 0), "drop"] == pytest.approx(27.0 - 25.0)
    assert shifted.loc[(at8, 1), "drop"] == pytest.approx(27.2 - 25.6)
    assert (rows.loc[rows["solver"] == "zero_filled", "kind"] == REFERENCE).all()
    assert rows["drop"][rows["kind"] != SHIFTED].isna().all()
    summary = summarise(rows).set_index(["model", "test", "kind"])
    entry = summary.loc[(model, at8, SHIFTED)]
    assert entry["drop"] == pytest.approx(1.8) and entry["reps"] == 2
    assert entry["drop_std"] == pytest.approx(np.std([2.0, 1.6], ddof=1))
    assert summary.loc[(model, at8, IN_DISTRIBUTION), "psnr"] == pytest.approx(27.1)


def test_a_run_without_setting_columns_or_shift_has_no_view():
    frame = shift_frame()
    assert robustness_rows(frame.drop(columns=["objective_test_source"])).empty
    no_shift = frame[~frame["solver_name"].isin([XP.format(4), XP.format(8)])]
    assert solver_drops(robustness_rows(no_shift), "phantom[acceleration=8]") == {}


def test_the_page_shows_the_view_and_ranks_by_worst_and_best_case(shift_file,
                                                                  tmp_path):
    run = load_run(shift_file)
    page = render(run, tmp_path)
    view = page.split('id="robustness"')[1].split("</section>")[0]
    assert "Robustness to unseen settings" in view
    assert "phantom 8× random" in view and "trained phantom 4× random" in view
    assert "drop 1.80" in view and "no training" in view
    ranking = view.split('class="final ranking"')[1]
    assert "25.30" in ranking and "30.20" in ranking  # worst 4->8, best 4->4
    assert 'href="#robustness"' in page


def test_the_final_table_shows_the_drop_and_folds_the_rest(shift_file):
    run = load_run(shift_file)
    group = next(g for g in run.groups if "acceleration=8" in g.subtitle)
    drops = solver_drops(robustness_rows(run.frame), group.key[1])
    assert "trained phantom 4× random" in drops[XP.format(4)]
    assert "in distribution" in drops[XP.format(None)]
    page = table_html(group, run.metrics, run.colors, run.labels, drops)
    main, folded = page.split("<details")
    heads = main.split("<tbody>")[0]
    assert "drop (dB)" in heads and "PSNR" in heads and "peak train memory" in heads
    assert "forward_iterations" not in heads and "forward_iterations" in folded
    assert "train_epochs" in folded and "test_acceleration" not in page


def test_iterations_and_epochs_get_their_own_axes(shift_file):
    run = load_run(shift_file)
    group = run.groups[0]
    fig = curves(group, run.metrics, run.colors, "stop_val", run.labels)
    titles = {fig.layout[f"xaxis{i}"].title.text for i in (1, 4)}
    assert titles == {"iterations (classical solvers)",
                      "epochs (learned solvers: training)"}
    rows = {t.name: t.xaxis for t in fig.data if t.showlegend}
    assert rows[run.labels["zero_filled"]] == "x"  # the first row
    assert rows[run.labels[XP.format(None)]] == "x4"  # the epochs row


def test_the_start_of_a_curve_sits_at_the_left_of_the_time_axis(shift_file):
    run = load_run(shift_file)
    fig = curves(run.groups[0], run.metrics, run.colors, "time", run.labels)
    xs = [x for t in fig.data for x in t.x]
    assert min(xs) == pytest.approx(0.5 / 3, rel=1e-4)  # not the 2e-6 s recorded
    assert fig.layout.xaxis.type == "log"


def test_gallery_captions_use_the_short_names(shift_file):
    run = load_run(shift_file)
    group = run.groups[0]
    page = gallery_html(group, run.colors, labels=run.labels)
    assert "<b>xpdnet[train_acceleration=4]</b>" in page or \
        "<b>xpdnet[train_acceleration=8]</b>" in page
    assert "<b>xpdnet[lr=0.002" not in page
    assert f'title="{XP.format(None)}"' in page  # the full name on hover
