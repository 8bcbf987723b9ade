"""No silently wrong result, through `benchopt run` (issue 17): diverged
trainings and iterations, NaN references, concurrent runs, forced re-runs,
interrupted runs, and a dataset parameter without a value."""

import html
import shlex
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from benchmark_mri.data.fake_fastmri import write_volume
from benchmark_mri.report.html import build_report

from .conftest import REPO, TINY, benchopt_command, benchopt_run, failing_solver

pytestmark = pytest.mark.slow  # every test here starts `benchopt run`

DATASET = f"phantom[{TINY}]"
XPDNET = "xpdnet[lr=1e3,n_epochs=3,n_iter=1,batch_size=2]"
ISTA = "ista_l1[lipschitz=0.01]"


def log_of(proc):
    return proc.stdout + proc.stderr


def final_rows(frame):
    """The last row of each solver, indexed by the solver's bare name."""
    last = frame.groupby("solver_name").tail(1)
    return last.set_index(last["solver_name"].str.split("[").str[0])


def test_diverged_runs_are_recorded_rows_listed_by_the_dashboard(tmp_path):
    """xpdnet[lr=1e3] and ista_l1 with a too long step: exit 0 as before, but
    each run ends on a row with its diverged flag and NaN metrics (not the
    untrained model's numbers), the console says what to change, no
    checkpoint is saved, and the dashboard lists them first, unranked."""
    output = tmp_path / "diverged.parquet"
    ckpt = tmp_path / "ckpt"
    proc = benchopt_run("-d", DATASET, "-s", "zero_filled", "-s", XPDNET, "-s", ISTA,
                        output=output, env={"BENCHMARK_MRI_CHECKPOINTS": ckpt})
    log = log_of(proc)
    assert proc.returncode == 0, log
    final = final_rows(pd.read_parquet(output))
    assert final.loc["xpdnet", "objective_training_diverged"] == 1
    assert final.loc["ista_l1", "objective_diverged"] == 1
    for solver in ("xpdnet", "ista_l1"):
        assert np.isnan(final.loc[solver, ["objective_psnr", "objective_ssim",
                                           "objective_nmse"]].astype(float)).all()
    assert np.isfinite(final.loc["zero_filled", "objective_psnr"])
    assert "xpdnet: " in log and "lower the learning rate (lr=1000)" in log
    assert "recorded as diverged (training_diverged=1, NaN metrics)" in log
    assert "wavelet-l1 diverged" in log and "use lipschitz='bound'" in log
    assert not list(ckpt.rglob("*.pt")) and "saved checkpoint" not in log

    page = build_report(output, tmp_path / "report").read_text()
    problems = page.split('id="problems"')[1].split("</ul>")[0].split("<li>")[1:]
    assert all("DIVERGED" in p for p in problems[:2]), problems
    assert page.count('<span class="diverged">diverged</span>') == 6  # 2 rows x 3


def test_a_nan_reference_stops_the_run_naming_file_and_slice(tmp_path):
    folder = tmp_path / "scans"
    for i in range(2):
        write_volume(folder / f"scan{i}.h5", i, n_slices=3)
    with h5py.File(folder / "scan1.h5", "a") as f:
        f["reconstruction_rss"][1, 5, 5] = np.nan
    proc = benchopt_run("-d", f"fastmri_folder[path={folder},n_train_volumes=1]",
                        "-s", "zero_filled", output=tmp_path / "nan.parquet",
                        raise_on_error=False)
    assert proc.returncode != 0
    assert "scan1.h5: 'reconstruction_rss' slice 1 contains NaN or inf" in log_of(proc)
    assert not (tmp_path / "nan.parquet").exists()


def test_two_runs_at_once_in_one_folder_lose_nothing(tmp_path):
    """Two identical runs started together, with benchopt's default output
    names (the same second: the same name): two complete result files, and
    the checkpoint trained once (the other run waits and reuses it)."""
    bench = tmp_path / "bench"
    bench.mkdir()
    shutil.copy(REPO / "objective.py", bench)
    for name in ("datasets", "solvers", "benchmark_utils"):
        shutil.copytree(REPO / name, bench / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    solver = "xpdnet[n_iter=1,n_epochs=2,batch_size=2]"
    env = {"BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"}
    runs = []
    for _ in range(2):
        cmd, variables = benchopt_command("-d", DATASET, "-s", "zero_filled", "-s",
                                          solver, env=env, benchmark=bench)
        runs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     stderr=subprocess.STDOUT, env=variables,
                                     cwd=bench))
    logs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], logs
    files = sorted((bench / "outputs").glob("*.parquet"))
    assert len(files) == 2, (files, logs)
    for path in files:
        frame = pd.read_parquet(path)
        assert sorted(set(frame["solver_name"].str.split("[").str[0])) == [
            "xpdnet", "zero_filled"]
        assert np.isfinite(final_rows(frame)["objective_psnr"]).all()
    both = "".join(logs)
    assert both.count("saved checkpoint") == 1 and both.count("reusing checkpoint") == 1
    assert len(list((tmp_path / "ckpt").rglob("*.pt"))) == 1


def test_force_reruns_exactly_the_solvers_it_names(tmp_path):
    """The README's advice: `-f SOLVER` alone selects and re-runs it; `-s X
    -f X` runs X twice (benchopt's union of both selections)."""
    cache = tmp_path / "cache"

    def run(*selection):
        output = tmp_path / f"run{len(list(tmp_path.glob('*.parquet')))}.parquet"
        proc = benchopt_run("-d", DATASET, *selection, output=output, cache=cache)
        assert proc.returncode == 0, log_of(proc)
        return pd.read_parquet(output), log_of(proc)

    _, log = run("-s", "zero_filled")
    assert "(cached)" not in log
    _, log = run("-s", "zero_filled")
    assert "(cached)" in log  # benchopt's cache: nothing re-ran
    frame, log = run("-f", "zero_filled")
    assert "(cached)" not in log and len(frame) == 1
    frame, _ = run("-s", "zero_filled", "-f", "zero_filled")
    assert len(frame) == 2  # what the README warns against
    readme = (REPO / "README.md").read_text()
    assert '-f "xpdnet[n_epochs=2]"' in readme and "--no-cache" in readme


SOLVER_OK = (REPO / "solvers" / "zero_filled.py").read_text().replace(
    'name = "zero_filled"', 'name = "finishes"')



@pytest.mark.parametrize("error, select", [
    ("KeyboardInterrupt", "-s"), ("RuntimeError('boom')", "-s"),
    ("KeyboardInterrupt", "-f"),  # re-run as the README advises
])
def test_a_stopped_run_says_the_command_that_writes_what_finished(tmp_path, error,
                                                                  select):
    """Ctrl-C, or a failure with BENCHOPT_RAISE_ON_ERROR=1, after a solver
    finished: no result file (benchopt's), and a message with the command
    that writes it; run as printed, it does (for a run given with -f too:
    benchopt's --collect reports forced solvers as "not run yet")."""
    (tmp_path / "finishes.py").write_text(SOLVER_OK)
    (tmp_path / "stops.py").write_text(failing_solver("stops", error))
    output = tmp_path / "out.parquet"
    args = ("-d", DATASET, select, tmp_path / "finishes.py", select,
            tmp_path / "stops.py")
    cmd, env = benchopt_command(*args, output=output, cache=tmp_path / "cache")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode != 0 and not output.exists()
    assert ("this run stopped before writing its result file, after 1 solver run(s) "
            "had finished (finishes)") in proc.stderr
    assert "the same command with --collect appended writes them" in proc.stderr
    printed = proc.stderr.split("anything (solvers given")[1].split("\n")[1]
    assert printed.endswith(" --collect") and " -f " not in printed
    words = shlex.split(printed)
    assert words[:3] == ["python", "-m", "benchopt"]
    proc = subprocess.run([sys.executable, *words[1:]], capture_output=True,
                          text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, log_of(proc)
    assert list(pd.read_parquet(output)["solver_name"]) == ["finishes"]
    assert "stopped before writing" not in proc.stderr


def test_a_run_cut_by_the_timeout_says_so_in_its_rows_console_and_dashboard(
        tmp_path):
    """ista_l1 cut by benchopt's timeout passed as a result ("done
    (timeout)" in yellow among the run's lines)."""
    output = tmp_path / "cut.parquet"
    proc = benchopt_run("-d", DATASET, "-s", "ista_l1", "-s", "zero_filled",
                        "--timeout", "0", output=output)
    assert proc.returncode == 0, log_of(proc)
    frame = pd.read_parquet(output)
    flags = frame.groupby(frame["solver_name"].str.split("[").str[0])[
        "stopped_by_timeout"].unique()
    assert list(flags["ista_l1"]) == [1] and list(flags["zero_filled"]) == [0]
    last = proc.stderr.strip().splitlines()[-1]
    assert "1 run(s) stopped by benchopt's timeout before their own end: " \
        "ista_l1" in last and "--no-timeout" in last
    page = build_report(output, tmp_path / "report").read_text()
    problems = page.split('id="problems"')[1].split("</div>")[0]
    assert "STOPPED BY benchopt's TIMEOUT" in html.unescape(problems)


def test_an_acceleration_without_centre_fraction_names_the_allowed_values(tmp_path):
    proc = benchopt_run("-d", "phantom[acceleration=3]", "-s", "zero_filled",
                        output=tmp_path / "bad.parquet")
    assert proc.returncode != 0
    assert "phantom: acceleration=3 is not available" in log_of(proc)
    assert "use acceleration=4 or 8" in log_of(proc)
    assert "pass center_fraction" not in log_of(proc)
