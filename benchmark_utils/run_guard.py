"""What `benchopt run` (1.10) does not do for this benchmark, added from the
objective's import (`install()`, objective.py) in the process that runs it.

- **Result files never collide.** benchopt names a run's output when it
  starts (outputs/benchopt_run_<date>_<hh>h<mm>m<ss>.parquet, or --output)
  and makes the name unique when it saves, by looking at which files exist
  (benchopt/results/files_utils.py: uniquify_fname). Two runs started in the
  same second that finish together both see the name free and write the
  same file: one run's rows are lost. `reserve_unique` takes the name by
  creating the file (os.open with O_CREAT | O_EXCL, atomic): the other run
  gets <name>_1.parquet.
- **Recovery is said, as a command that works.** A run stopped by Ctrl-C or
  by an error (with BENCHOPT_RAISE_ON_ERROR=1) after some solver runs
  finished writes no result file, nor does a run whose result file cannot be
  written (a full or read-only output folder: the partial file is removed).
  The finished runs are in benchopt's cache and --collect writes them, but
  benchopt does not say so, and reports solvers given with -f as "not run
  yet" under --collect. The finished runs are counted as benchopt's runner
  receives them (benchopt.runner.parallel_run, wrapped), the result write is
  watched (benchopt.runner.save_results, wrapped), and when the process exits
  (atexit) without a written result file, `recovery_message` prints the
  command to run: this one with -f / --force-solver turned into -s /
  --solver and --collect appended (`recovery_command`). A process killed
  outright (SIGKILL, SIGTERM, a SLURM time limit) runs no exit handler:
  nothing is printed; the same recovery holds.
- **A run cut by the timeout says so.** A run that benchopt's --timeout
  stopped (status "timeout", printed "done (timeout)" among the run's
  lines) ends on a point that is not its own end: every row of every run
  gets the column `stopped_by_timeout` (1 for such a run, else 0), which
  the dashboard lists and never ranks, and the process's last lines name
  those runs and what to do.

benchopt offers no hook for any of these (no objective method is called
when a run stops, and the output name is not the objective's): they wrap
benchopt functions, checked by name and signature; with another benchopt
whose functions differ, `install` changes nothing and warns once.
"""

import atexit
import functools
import inspect
import itertools
import os
import shlex
import sys
import warnings
from pathlib import Path

from benchmark_mri.results import STOPPED_BY_TIMEOUT, command_words

SUCCESS = ("done", "max_runs", "timeout")  # benchopt's runner.SUCCESS_STATUS


def new_state() -> dict:
    """What the guard records in one process: whether benchopt's runner
    started, with --no-cache; the result files reserved and written; the
    finished runs' solver names; runs stopped by the timeout; whether some
    runs were forced; a failed result write (path, error)."""
    return {"running": False, "no_cache": False, "reserved": [], "saved": [],
            "finished": [], "timeouts": [], "forced": False, "write_error": None}


_state = new_state()


def reserve_unique(path) -> Path:
    """The first of path, <stem>_1<suffix>, <stem>_2<suffix>, ... that this
    call creates (empty; the caller then writes it): concurrent callers never
    get the same name. benchopt's uniquify_fname, made atomic."""
    path = Path(path)
    names = itertools.chain([path], (path.with_name(f"{path.stem}_{i}{path.suffix}")
                                     for i in itertools.count(1)))
    for name in names:
        try:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        _state["reserved"].append(name)
        return name


FORCE = {"-f": "-s", "--force-solver": "--solver"}


def _selected(word: str) -> str:
    """A command-line word with a forced solver selected instead (-f X,
    -fX, --force-solver X, --force-solver=X); other words unchanged."""
    if word in FORCE:
        return FORCE[word]
    if word.startswith("--force-solver="):
        return "--solver=" + word.split("=", 1)[1]
    if word.startswith("-f") and not word.startswith("--"):
        return "-s" + word[2:]
    return word


def recovery_command(words: list[str]) -> str:
    """The command `words` (program and arguments) with its forced solvers
    selected instead (benchopt's --collect skips forced runs, which are
    cached all the same) and --collect appended."""
    words = list(words)
    rest = [_selected(w) for w in words[1:] if w != "--collect"]
    return shlex.join([*words[:1], *rest, "--collect"])


def _advice(finished: list[str], no_cache: bool, words, forced: bool) -> str:
    names = ", ".join(dict.fromkeys(finished))
    done = f"{len(finished)} solver run(s) had finished ({names})."
    if no_cache:
        return (f"{done} With --no-cache they were not cached: run the command "
                "again (without --no-cache, a stop keeps what finished).")
    words = list(words or command_words())
    text = (f"{done} Their results are in benchopt's cache: the same command with "
            "--collect appended writes them to a result file, without running "
            "anything (solvers given with -f are selected with -s: --collect "
            f"skips forced runs):\n    {recovery_command(words)}\n"
            "Without --collect, it also runs what is missing.")
    if forced and not any(_selected(w) != w for w in words[1:]):
        text += (" The config file forces solvers (force-solver:): list them "
                 "under solver: for --collect to write them.")
    return text


def recovery_message(finished: list[str], no_cache: bool, words=None,
                     forced: bool = False) -> str:
    """What to do when a run stopped before its result file, after the solver
    runs `finished` (their names) completed; words: the command line (this
    process's by default); forced: whether some runs were forced."""
    return ("benchmark_mri: this run stopped before writing its result file, "
            f"after {_advice(finished, no_cache, words, forced)}")


def _write_error_message(error, finished: list[str], no_cache: bool, words,
                         forced: bool) -> str:
    path, err = error
    head = (f"benchmark_mri: the result file {path} could not be written "
            f"({err}); nothing half-written is left. ")
    if not finished:
        return head + "No solver run had finished."
    return (head + "First free space or give another --output (a folder with "
            f"room). {_advice(finished, no_cache, words, forced)}")


def _timeout_message(timeouts: list[tuple[str, str, object]]) -> str:
    runs = "; ".join(f"{solver} on {dataset} (at {stop})"
                     for solver, dataset, stop in timeouts)
    return (f"benchmark_mri: {len(timeouts)} run(s) stopped by benchopt's timeout "
            f"before their own end: {runs}. Their last points are not converged "
            f"results: the result file marks them ({STOPPED_BY_TIMEOUT} = 1) and "
            "the dashboard lists them, unranked. Give a larger --timeout, or "
            "--no-timeout, to run them to their end.")


def exit_message(words=None) -> str:
    """What the process says when it exits (empty: nothing): runs cut by the
    timeout; how to recover results that finished but were not written."""
    words = list(words or command_words())
    parts = []
    if _state["timeouts"]:
        parts.append(_timeout_message(_state["timeouts"]))
    if _state["write_error"] is not None:
        parts.append(_write_error_message(_state["write_error"], _state["finished"],
                                          _state["no_cache"], words, _state["forced"]))
    elif _state["running"] and _state["finished"] and not _state["saved"]:
        parts.append(recovery_message(_state["finished"], _state["no_cache"], words,
                                      _state["forced"]))
    return "\n".join(parts)


def _noting_forced(run_kwargs_generator):
    for run_kwargs in run_kwargs_generator:
        if run_kwargs.get("force"):
            _state["forced"] = True
        yield run_kwargs


def _counting(parallel_run):
    @functools.wraps(parallel_run)
    def counted(benchmark, run, run_kwargs_generator, *args, **kwargs):
        _state.update(running=True,
                      no_cache=bool(getattr(benchmark, "no_cache", False)))
        generator = _noting_forced(run_kwargs_generator)
        for item in parallel_run(benchmark, run, generator, *args, **kwargs):
            result, key, status = item[0], item[1], item[2]
            if status in SUCCESS and result:
                _state["finished"].append(str(key[2]))
            for row in result or []:
                row[STOPPED_BY_TIMEOUT] = int(status == "timeout")
            if status == "timeout" and result:
                _state["timeouts"].append((str(key[2]), str(key[0]),
                                           result[-1].get("stop_val")))
            yield item

    return counted


def _saving(save_results):
    @functools.wraps(save_results)
    def save(df, path, *args, **kwargs):
        first = len(_state["reserved"])
        try:
            written = save_results(df, path, *args, **kwargs)
        except Exception as err:
            for name in _state["reserved"][first:]:
                Path(name).unlink(missing_ok=True)  # ours, written part-way
            target = (_state["reserved"][first] if len(_state["reserved"]) > first
                      else path)
            _state["write_error"] = (target, err)
            raise
        _state["saved"].append(written)
        return written

    return save


def _at_exit():
    text = exit_message()
    if text:
        print(text, file=sys.stderr, flush=True)


def _parameters(function) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def install():
    """Wrap benchopt's output naming, runner loop and result write (module
    doc); once per process, a no-op (with a warning) for a benchopt that
    differs. The state lives on benchopt's runner module, so that a second
    copy of this module (benchopt re-creates the benchmark_utils package per
    Benchmark) shares it."""
    global _state
    try:
        import benchopt.results as results
        import benchopt.runner as runner
    except ImportError:
        return
    if hasattr(runner, "benchmark_mri_guard_state"):
        _state = runner.benchmark_mri_guard_state
        return
    runner.benchmark_mri_guard_state = _state
    if (_parameters(getattr(results, "uniquify_fname", None)) != ["file_path"]
            or _parameters(getattr(runner, "parallel_run", None))[:4]
            != ["benchmark", "run", "run_kwargs_generator", "config"]
            or _parameters(getattr(runner, "save_results", None))[:2]
            != ["df", "path"]):
        warnings.warn("benchmark_mri: this benchopt's runner differs from 1.10's: "
                      "result files of concurrent runs may collide, and a stopped "
                      "run does not say how to recover (benchmark_utils/run_guard.py).",
                      stacklevel=2)
        return
    results.uniquify_fname = reserve_unique
    runner.parallel_run = _counting(runner.parallel_run)
    runner.save_results = _saving(runner.save_results)
    atexit.register(_at_exit)
