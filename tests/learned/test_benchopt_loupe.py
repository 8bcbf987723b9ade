"""The issue's command, shrunk: `benchopt run . -d "phantom[acceleration=4,
mask_type=[random,gaussian]]" -s loupe -s unet -s zero_filled`: every row
has its sampled fraction and whose mask it is; loupe's is within the budget
(at most 1/4 plus one column), its saved slices carry the learned mask, and
it beats zero-filled; the dashboard's sampling view and gallery show it."""

import numpy as np
import pytest
from benchopt.results import read_results

from benchmark_mri.report.browser import check_page, find_chromium
from benchmark_mri.report.html import build_report
from benchmark_mri.results import read_final_results

from ..conftest import benchopt_run

pytestmark = pytest.mark.slow
PHANTOM = ("image_size=64,n_coils=4,n_train_volumes=4,n_test_volumes=2,n_slices=4,"
           "acceleration=4,mask_type=[random,gaussian]")


def test_loupe_unet_and_zero_filled_on_two_masks(tmp_path):
    output = tmp_path / "run.parquet"
    proc = benchopt_run(
        "-o", "MRI reconstruction[smaps=acs]", "-d", f"phantom[{PHANTOM}]",
        "-s", "loupe[n_epochs=3,finetune_epochs=1]", "-s", "unet[n_epochs=3]",
        "-s", "zero_filled",
        output=output, env={"BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    frame = read_results(output)
    assert frame["objective_sampled_fraction"].notna().all()
    assert frame["objective_solver_mask"].notna().all()
    loupe = frame[frame["solver_name"].str.startswith("loupe")]
    others = frame[~frame["solver_name"].str.startswith("loupe")]
    assert (loupe["objective_solver_mask"] == 1).all()
    assert (others["objective_solver_mask"] == 0).all()
    assert (loupe["objective_sampled_fraction"] <= 1 / 4 + 1 / 64).all()
    # gaussian: exactly round(64 / 4) columns per slice
    gaussian = others[others["dataset_name"].str.contains("mask_type=gaussian")]
    assert np.allclose(gaussian["objective_sampled_fraction"], 16 / 64)
    # joint epochs 0..3, then 1 fine-tuning epoch: 5 points in one setting;
    # the other reuses both checkpoints (the same fully sampled volumes).
    assert sorted(loupe.groupby("dataset_name").size()) == [1, 5]
    assert "reusing checkpoint" in log
    finals = frame.groupby(["dataset_name", "solver_name"]).tail(1)
    for dataset, rows in finals.groupby("dataset_name"):
        psnr = dict(zip(rows["solver_name"].str.split("[").str[0],
                        rows["objective_psnr"]))
        assert psnr["loupe"] > psnr["zero_filled"], dataset
        cell = rows.loc[rows["solver_name"].str.startswith("loupe"),
                        "final_results"].iloc[0]
        slices, provenance, problem = read_final_results(cell)
        assert problem is None and cell["mask"] == "learned"
        learned = provenance["solver"]["learned_mask"].split(":")[1]
        assert [int(c) for c in learned] == slices[0]["mask"].tolist()
        loupe_row = rows[rows["solver_name"].str.startswith("loupe")].iloc[0]
        assert loupe_row["objective_train_peak_memory_mb"] > 0
        assert loupe_row["objective_train_time_s"] > 0
    page = build_report(output, tmp_path / "dashboard")
    text = page.read_text()
    assert 'id="sampling"' in text and "learned (solver)" in text
    assert "learned_mask" not in text.split('id="metadata"')[1]  # not "weights"
    binary = find_chromium()
    if binary is None:
        pytest.skip("No Chromium: the real run's sampling view is not opened.")
    check = check_page(page, tmp_path / "dashboard.png", binary=binary,
                       full_page=True)
    assert check.console_errors == [] and check.network_requests == []
    assert check.status["errors"] == []
    (view,) = [f for f in check.figures if f["id"].startswith("sampling-")]
    assert view["traces"] == 4 and view["points"] > 0  # unet, zero_filled x 2
    masks = [i for i in check.images if i["alt"].endswith("sampling mask")]
    assert masks and all(i["loaded"] for i in masks)
