"""`benchmark-mri report` and `benchmark-mri publish`."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from benchmark_mri.cli import main, newest_result
from benchmark_mri.report.read import load_run

from ..conftest import REPO


def test_report_writes_an_offline_page(callback_file, tmp_path, capsys):
    assert main(["report", str(callback_file), "-o", str(tmp_path / "dash")]) == 0
    assert "file://" in capsys.readouterr().out
    page = (tmp_path / "dash" / "index.html").read_text()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    # The basic bundle shipped in assets/ (plotly.py's plotly.js is 4.1.1):
    # if plotly is upgraded, ship the matching basic bundle (assets/README.md).
    assert scripts == ["plotly-basic-4.1.1.min.js"]
    assert (tmp_path / "dash" / scripts[0]).stat().st_size > 500_000
    # Nothing fetched from elsewhere (the browser test also watches requests).
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    # 3 settings x (2 curves + memory + sweep)
    assert page.count('class="figure-spec"') == 12
    assert page.count("data:image/png;base64,") > 20


def test_inline_page_is_one_file(callback_file, tmp_path):
    assert main(["report", str(callback_file), "-o", str(tmp_path), "--inline"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
    assert "<script src=" not in (tmp_path / "index.html").read_text()


def test_report_defaults_to_the_newest_result(callback_file, tmp_path, monkeypatch):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for i, name in enumerate(["old.parquet", "new.parquet"]):
        (outputs / name).write_bytes(open(callback_file, "rb").read())
        os.utime(outputs / name, (1e9 + i, 1e9 + i))
    monkeypatch.chdir(tmp_path)
    assert newest_result().name == "new.parquet"
    assert main(["report"]) == 0
    assert (outputs / "new_report" / "index.html").is_file()


def test_report_errors_name_the_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty.parquet").write_bytes(b"")
    assert main(["report", str(tmp_path / "empty.parquet")]) == 2
    assert "empty.parquet is empty (0 bytes)" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.parquet").unlink()
    assert main(["report"]) == 2
    assert "No result file in" in capsys.readouterr().err


def test_publish_and_index(callback_file, tmp_path, capsys):
    results = tmp_path / "results"
    args = ["publish", str(callback_file), "--results-dir", str(results)]
    assert main([*args, "--name", "first-run"]) == 0
    assert main([*args, "--name", "second.run"]) == 0
    run_dir = results / "first-run"
    assert {p.name for p in run_dir.iterdir()} == {
        "callback.parquet", "index.html", "run.json"}
    page = (run_dir / "index.html").read_text()
    (src,) = re.findall(r'<script src="([^"]+)"', page)
    assert src.startswith("../assets/") and (run_dir / src).is_file()
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["settings"][0]["best_solver"].startswith("xpdnet")
    index = (results / "index.html").read_text()
    assert 'href="first-run/index.html"' in index
    assert 'href="second.run/index.html"' in index
    assert "best PSNR (dB) 33.5" in index
    # Publishing never overwrites silently, and names are folder names.
    assert main([*args, "--name", "first-run"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--name", "first-run", "--force"]) == 0
    assert main([*args, "--name", "../oops"]) == 2
    assert "--name '../oops'" in capsys.readouterr().err


def test_publish_keeps_the_first_repetitions_reconstructions_only(tmp_path):
    """The gallery shows the first repetition: the published copy drops the
    others' saved images and keeps every row's metrics."""
    import pandas as pd

    from .frames import sampling_frame, write

    result = write(sampling_frame(), tmp_path / "reps.parquet")
    results = tmp_path / "results"
    assert main(["publish", result, "--name", "reps", "--results-dir",
                 str(results)]) == 0
    original = pd.read_parquet(result)
    published = pd.read_parquet(results / "reps" / "reps.parquet")
    assert len(published) == len(original) == 36
    pd.testing.assert_series_equal(published["objective_psnr"],
                                   original["objective_psnr"])
    saved = published["final_results"].notna()
    assert saved[published["idx_rep"] == 0].all()
    assert not saved[published["idx_rep"] == 1].any()
    assert (results / "reps" / "reps.parquet").stat().st_size < (
        0.7 * os.path.getsize(result))
    # --no-gallery: no image kept, the provenance and every metric stay.
    assert main(["publish", result, "--name", "bare", "--results-dir",
                 str(results), "--no-gallery"]) == 0
    run = load_run(results / "bare" / "reps.parquet")
    assert not run.problems and run.frame["objective_psnr"].notna().all()
    cells = run.frame.loc[run.frame["idx_rep"] == 0, "final_results"]
    assert all(cell["slices"] == [] and cell["provenance"] for cell in cells)
    assert "<img" in (results / "reps" / "index.html").read_text()  # the gallery
    page = (results / "bare" / "index.html").read_text()
    assert "No saved reconstructions" in page and "<img" not in page


def test_publish_refuses_a_bad_file_before_touching_results(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    results = tmp_path / "results"
    assert main(["publish", str(tmp_path / "bad.parquet"), "--name", "x",
                 "--results-dir", str(results)]) == 2
    assert not results.exists()


@pytest.mark.parametrize("argv", [["report", "--help"], ["publish", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0 and "usage: benchmark-mri" in capsys.readouterr().out


@pytest.mark.slow
def test_real_run_saves_the_gallery_and_provenance(real_run):
    run = load_run(real_run)
    assert run.problems == [] and len(run.groups) == 2
    # The tests run `python -m benchopt run ...`.
    assert run.provenance["command"].startswith("python -m benchopt run ")
    assert run.provenance["versions"]["benchopt"]


@pytest.mark.slow
def test_benchopt_plot_still_reads_the_result_file(real_run):
    """The final_results column does not break benchopt's own HTML plots.

    `benchopt plot` only reads files under the benchmark's outputs/: the run is
    copied there, and everything the test adds to outputs/ is removed.
    """
    outputs = REPO / "outputs"
    outputs.mkdir(exist_ok=True)
    before = set(outputs.iterdir())
    copy = outputs / f"test_report_{os.getpid()}.parquet"
    shutil.copyfile(real_run, copy)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchopt", "plot", str(REPO), "-f", str(copy),
             "--no-display"], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Writing results to" in proc.stdout
    finally:
        for path in set(outputs.iterdir()) - before:
            path.unlink() if path.is_file() else shutil.rmtree(path)
