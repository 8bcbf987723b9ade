"""benchmark_utils/run_guard.py: atomic result names, the recovery message."""

import threading

import benchopt.results
import benchopt.runner
import pytest

from benchmark_utils import run_guard


def test_result_names_are_taken_atomically(tmp_path):
    """Two runs saving `same.parquet` at once each get their own file: the
    name is taken when it is chosen, not when the file is written."""
    path = tmp_path / "same.parquet"
    names, start = [], threading.Barrier(8)

    def save():
        start.wait()
        names.append(run_guard.reserve_unique(path))

    threads = [threading.Thread(target=save) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(n.name for n in names) == ["same.parquet"] + [
        f"same_{i}.parquet" for i in range(1, 8)]
    assert all(n.exists() for n in names)


def test_the_objective_installs_the_guard_once():
    import objective  # noqa: F401 - benchopt imports it the same way

    run_guard.install()
    assert benchopt.results.uniquify_fname is run_guard.reserve_unique
    wrapped = benchopt.runner.parallel_run.__wrapped__
    assert wrapped.__module__ == "benchopt.parallel_backends"
    assert benchopt.runner.benchmark_mri_guard_state is run_guard._state


def test_the_recovery_message_says_what_to_run():
    text = run_guard.recovery_message(["zero_filled", "grappa", "zero_filled"], False)
    assert "after 3 solver run(s) had finished (zero_filled, grappa)" in text
    assert "the same command with --collect appended writes them" in text
    text = run_guard.recovery_message(["zero_filled"], True)
    assert "With --no-cache they were not cached: run the command again" in text


def test_the_recovery_command_selects_what_was_forced():
    """benchopt's --collect reports forced solvers as 'not run yet': the
    command to run selects them with -s instead (-f runs are cached too)."""
    words = ["benchopt", "run", ".", "-d", "phantom", "-f", "xpdnet[n_epochs=2]",
             "--force-solver", "rim", "--force-solver=unet", "-fgrappa", "--no-plot"]
    assert run_guard.recovery_command(words) == (
        "benchopt run . -d phantom -s 'xpdnet[n_epochs=2]' --solver rim "
        "--solver=unet -sgrappa --no-plot --collect")
    assert run_guard.recovery_command(["benchopt", "run", ".", "--collect"]) == \
        "benchopt run . --collect"
    text = run_guard.recovery_message(["xpdnet"], False, words)
    assert "benchopt run . -d phantom -s 'xpdnet[n_epochs=2]'" in text
    assert "\n    benchopt run . -d phantom -s 'xpdnet[n_epochs=2]' --solver rim " \
        "--solver=unet -sgrappa --no-plot --collect\n" in text


def fresh_state(monkeypatch, **state):
    monkeypatch.setattr(run_guard, "_state", {**run_guard.new_state(), **state})


def test_a_failed_result_write_says_how_to_recover(tmp_path, monkeypatch):
    """A full output folder: pyarrow's ENOSPC, and no hint although every
    solver had finished. The partial file goes, the message names the
    file, why, and the command that writes the results elsewhere."""
    fresh_state(monkeypatch, running=True, finished=["zero_filled", "xpdnet"])
    target = tmp_path / "out.parquet"

    def failing_save(df, path, uniquify=True):
        name = run_guard.reserve_unique(path)
        name.write_bytes(b"PAR1 half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        run_guard._saving(failing_save)(None, target)
    assert not target.exists()  # nothing half-written
    text = run_guard.exit_message(["benchopt", "run", ".", "-f", "xpdnet",
                                   "--output", str(target)])
    assert f"the result file {target} could not be written" in text
    assert "No space left on device" in text
    assert "2 solver run(s) had finished (zero_filled, xpdnet)" in text
    assert "free space or give another --output" in text
    assert f"benchopt run . -s xpdnet --output {target} --collect" in text


def test_runs_stopped_by_the_timeout_are_marked_and_said(monkeypatch):
    """ista_l1 cut by benchopt's timeout printed "done (timeout)" among 200
    lines, and its rows looked like a converged result."""
    fresh_state(monkeypatch)

    def runs(*args, **kwargs):
        yield [{"stop_val": 1}, {"stop_val": 141}], ("phantom[n=1]", "obj",
                                                      "ista_l1[lmbda=0.001]"), \
            "timeout", "", False
        yield [{"stop_val": 1}], ("phantom[n=1]", "obj", "zero_filled"), "done", "", \
            False

    items = list(run_guard._counting(runs)(None, None, iter([]), None))
    assert [row["stopped_by_timeout"] for row in items[0][0]] == [1, 1]
    assert [row["stopped_by_timeout"] for row in items[1][0]] == [0]
    text = run_guard.exit_message(["benchopt", "run", "."])
    assert ("1 run(s) stopped by benchopt's timeout before their own end: "
            "ista_l1[lmbda=0.001] on phantom[n=1] (at 141)") in text
    assert "not converged" in text and "--no-timeout" in text
