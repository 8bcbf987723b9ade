"""The test-time view of a real run of the three learned solvers.

The star must sit at the count each model was trained with, as the run
recorded it (`objective_train_iterations`), also when that count comes from a
default parameter (XPDNet's n_iter=None: its preset's 3 iterations).
"""

import pytest

from benchmark_mri.report.figures import inner_iterations_figure
from benchmark_mri.report.groups import final_rows
from benchmark_mri.report.html import build_report
from benchmark_mri.report.read import load_run

pytestmark = pytest.mark.slow

# The defaults: XPDNet's cpu_small preset (n_iter 3), RIM's (n_steps 4), the
# DEQ's forward_max_iter (20).
TRAINED = {"xpdnet": 3, "rim": 4, "deq_shine": 20}


@pytest.fixture(scope="module")
def run(learned_run):
    return load_run(learned_run)


@pytest.mark.parametrize("solver", sorted(TRAINED))
def test_the_star_is_at_the_trained_count(run, solver):
    (group,) = run.groups
    final = final_rows(group.frame)
    rows = final[final["solver_name"].str.startswith(f"{solver}[")]
    assert len(rows) == 2  # test_iterations=[None, k]
    recorded = set(rows["objective_train_iterations"])
    assert recorded == {TRAINED[solver]}
    fig = inner_iterations_figure(group, run.metrics, run.colors)
    ours = [t for t in fig.data if t.legendgroup.startswith(f"{solver}[")]
    lines = [t for t in ours if t.mode == "lines+markers"]
    stars = [t for t in ours if t.mode == "markers"]
    assert len(lines) == 2 and len(stars) == 2  # PSNR and SSIM panels
    assert {lines[0].legendgroup} == {t.legendgroup for t in ours}  # one line
    assert sorted(lines[0].x) == sorted(rows["objective_inference_iterations"])
    assert [list(s.x) for s in stars] == [[TRAINED[solver]]] * 2
    assert [list(s.x) for s in stars] == [[r] for r in recorded] * 2
    assert all(s.marker.symbol == "star" for s in stars)


def test_the_page_shows_one_test_time_view(run, learned_run, tmp_path):
    assert run.problems == []
    page = build_report(learned_run, tmp_path / "dash").read_text()
    assert page.count("<h3>Test-time inner iterations <small>(final metrics; star: "
                      "the count used in training)</small></h3>") == 1
    # time, iterations, memory, test time
    assert page.count('class="figure-spec"') == 4
