"""A run that benchopt's timeout cut, in the dashboard: said, marked, never
ranked (run_guard writes the stopped_by_timeout column)."""

import html

from benchmark_mri.report.html import render
from benchmark_mri.report.read import load_run
from benchmark_mri.report.table import overview_html, table_html

from .frames import callback_frame, write

BEST = "xpdnet[n_iter=5,test_iterations=5]"  # the best PSNR of the frame


def cut_file(tmp_path):
    frame = callback_frame()
    frame["stopped_by_timeout"] = 0
    cut = (frame["solver_name"] == BEST) & (frame["p_dataset_acceleration"] == 4) \
        & frame["dataset_name"].str.startswith("phantom")
    frame.loc[cut, "stopped_by_timeout"] = 1
    return write(frame, tmp_path / "cut.parquet")


def test_a_run_cut_by_the_timeout_is_said_marked_and_not_ranked(tmp_path):
    run = load_run(cut_file(tmp_path))
    said = [p for p in run.problems if "TIMEOUT" in p]
    assert len(said) == 1 and said[0].startswith(f"{BEST} on phantom[acceleration=4")
    assert "STOPPED BY benchopt's TIMEOUT at iteration 3" in said[0]
    assert "not converged" in said[0] and "--no-timeout" in said[0]
    group = next(g for g in run.groups
                 if g.subtitle.startswith("phantom[acceleration=4"))
    page = table_html(group, run.metrics, run.colors).replace("<wbr>", "")
    head, cells = page.split(f'<th title="{BEST}">')[1].split("</tr>")[0].split(
        "</th>", 1)
    assert 'class="timeout"' in head
    assert 'class="best"' not in cells
    assert "n/a" not in cells.split("</td>")[0]  # its numbers are shown
    overview = overview_html(run.groups, run.metrics, run.colors).replace("<wbr>", "")
    assert overview.count('class="timeout"') == 1  # phantom 4x only
    problems = render(run, tmp_path, plotly_js="inline").split(
        'id="problems"')[1].split("</div>")[0]
    assert "STOPPED BY benchopt's TIMEOUT" in html.unescape(problems)
