"""Dashboards in headless Chromium, offline, from file:// (the issue's check).

Skipped, saying why, when no Chromium binary is found, unless
BENCHMARK_MRI_REQUIRE_CHROMIUM=1 (set by .ci/run, which installs Debian's
`chromium`): then a missing browser fails the test.
"""

import os

import pytest

from benchmark_mri.report.browser import check_page, find_chromium
from benchmark_mri.report.html import build_report

pytestmark = pytest.mark.slow  # Chromium, and a real `benchopt run`


@pytest.fixture(scope="module")
def chromium():
    binary = find_chromium()
    if binary is None:
        if os.environ.get("BENCHMARK_MRI_REQUIRE_CHROMIUM") == "1":
            pytest.fail("No Chromium binary found, and BENCHMARK_MRI_REQUIRE_CHROMIUM=1"
                        ": "
                        "install Debian's `chromium` (apt-get install chromium).")
        pytest.skip("No Chromium binary found (apt-get install chromium, or set "
                    "$CHROMIUM): the dashboards are not checked in a browser.")
    return binary


def _assert_renders(check):
    assert check.console_errors == []
    assert check.network_requests == []
    assert check.status["errors"] == []
    assert check.figures and all(f["traces"] > 0 and f["points"] > 0
                                 for f in check.figures), check.figures
    assert check.status["figures"] == len(check.figures)
    assert check.images and all(i["loaded"] for i in check.images), check.images
    assert check.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_real_run_dashboard_renders_offline(chromium, real_run, tmp_path):
    """A small real `benchopt run` (zero_filled on the phantom, two settings)."""
    page = build_report(real_run, tmp_path / "dashboard")
    check = check_page(page, tmp_path / "dashboard.png", binary=chromium)
    _assert_renders(check)
    assert len(check.figures) == 4  # 2 settings x (time, iterations)
    gallery = [i for i in check.images if i["alt"].endswith("reconstruction")]
    assert len(gallery) == 4 and all(i["width"] == 32 for i in gallery)
    assert check.problems == []


def test_callback_run_with_failures_renders_and_says_what_is_missing(
        chromium, callback_file, tmp_path):
    page = build_report(callback_file, tmp_path / "dashboard", plotly_js="inline")
    check = check_page(page, tmp_path / "dashboard.png", binary=chromium,
                       full_page=True)
    _assert_renders(check)
    assert len(check.figures) == 12  # 3 settings x (time, iterations, memory,
    assert sum(f["id"].endswith("-tt") for f in check.figures) == 3  # test-time)
    assert sum(f["id"].endswith("-mem") for f in check.figures) == 3
    assert len(check.problems) == 3
    assert any("grappa[kernel_size=5] has no result" in p for p in check.problems)


def _fits(check, width=1400):
    shown = [t for t in check.tables if t["shown"]]
    assert shown and all(t["right"] <= width for t in shown), check.tables
    assert check.page_width <= width


def test_the_quickstart_dashboard_fits_1400_px(chromium, tmp_path):
    """The published quickstart file (25 measurement columns): its final
    tables fit the page, the rest folded under "more measurements"."""
    from ..conftest import REPO

    published = REPO / "results" / "quickstart-phantom" / "quickstart.parquet"
    page = build_report(published, tmp_path / "dashboard")
    check = check_page(page, tmp_path / "dashboard.png", binary=chromium)
    _assert_renders(check)
    _fits(check)
    assert any("final" in t["classes"] and not t["shown"] for t in check.tables)


def test_a_shifted_run_shows_the_robustness_view(chromium, shift_run, tmp_path):
    """benchmark-mri report of the issue's first run: the robustness figure
    is drawn, its tables fit."""
    import pandas as pd

    rows = pd.read_parquet(shift_run)
    final = rows.groupby("solver_name").tail(1).set_index("solver_name")
    xpdnet = final[final.index.str.startswith("xpdnet")]
    assert sorted(xpdnet["objective_train_acceleration"]) == [4.0, 8.0]
    assert set(xpdnet["objective_test_acceleration"]) == {8.0}
    assert set(final["objective_test_source"]) == {"phantom"}
    page = build_report(shift_run, tmp_path / "dashboard")
    check = check_page(page, tmp_path / "dashboard.png", binary=chromium,
                       full_page=True)
    _assert_renders(check)
    _fits(check)
    assert [f["id"] for f in check.figures][0] == "robustness-fig"
    assert any("robustness" in t["classes"] for t in check.tables)


def test_sampling_view_renders(chromium, tmp_path):
    """The sampling view (a run over masks with loupe) and the masks in the
    gallery, in Chromium."""
    from .frames import sampling_frame, write

    result = write(sampling_frame(), tmp_path / "sampling.parquet")
    page = build_report(result, tmp_path / "dashboard")
    check = check_page(page, tmp_path / "dashboard.png", binary=chromium,
                       full_page=True)
    _assert_renders(check)
    sampling = [f for f in check.figures if f["id"].startswith("sampling-")]
    assert len(sampling) == 2 and all(f["traces"] == 4 for f in sampling)
    masks = [i for i in check.images if i["alt"].endswith("sampling mask")]
    assert masks and all(i["loaded"] and i["width"] == 32 for i in masks)
