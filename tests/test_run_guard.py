"""benchmark_utils/run_guard.py: atomic result names, the recovery message."""

import threading

import benchopt.results
import benchopt.runner

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
