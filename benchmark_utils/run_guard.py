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
- **Recovery is said.** A run stopped by Ctrl-C or by an error (with
  BENCHOPT_RAISE_ON_ERROR=1) after some solver runs finished writes no result
  file; the finished runs are in benchopt's cache and the same command with
  --collect writes them, but benchopt does not say so. The finished runs are
  counted as benchopt's runner receives them (benchopt.runner.parallel_run,
  wrapped), and when the process exits (atexit) without having saved a result
  file, `recovery_message` is printed. A process killed outright (SIGKILL,
  SIGTERM, a SLURM time limit) runs no exit handler: nothing is printed; the
  same recovery holds.

benchopt offers no hook for either (no objective method is called when a
run stops, and the output name is not the objective's): both wrap benchopt
functions, checked by name and signature; with another benchopt whose
functions differ, `install` changes nothing and warns once.
"""

import atexit
import functools
import inspect
import itertools
import os
import sys
import warnings
from pathlib import Path

SUCCESS = ("done", "max_runs", "timeout")  # benchopt's runner.SUCCESS_STATUS
_state = {"running": False, "no_cache": False, "saved": [], "finished": []}


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
        _state["saved"].append(name)
        return name


def recovery_message(finished: list[str], no_cache: bool) -> str:
    """What to do when a run stopped before its result file, after the solver
    runs `finished` (their names) completed."""
    names = ", ".join(dict.fromkeys(finished))
    head = (f"benchmark_mri: this run stopped before writing its result file, "
            f"after {len(finished)} solver run(s) had finished ({names}).")
    if no_cache:
        return head + (" With --no-cache they were not cached: run the command "
                       "again (without --no-cache, a stop keeps what finished).")
    return head + (" Their results are in benchopt's cache: the same command "
                   "with --collect appended writes them to a result file; "
                   "without --collect, it also runs what is missing.")


def _counting(parallel_run):
    @functools.wraps(parallel_run)
    def counted(benchmark, *args, **kwargs):
        _state.update(running=True,
                      no_cache=bool(getattr(benchmark, "no_cache", False)))
        for item in parallel_run(benchmark, *args, **kwargs):
            result, key, status = item[0], item[1], item[2]
            if status in SUCCESS and result:
                _state["finished"].append(str(key[2]))
            yield item

    return counted


def _at_exit():
    if _state["running"] and _state["finished"] and not _state["saved"]:
        print(recovery_message(_state["finished"], _state["no_cache"]),
              file=sys.stderr, flush=True)


def _parameters(function) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def install():
    """Wrap benchopt's output naming and runner loop (module doc); once per
    process, a no-op (with a warning) for a benchopt that differs. The state
    lives on benchopt's runner module, so that a second copy of this module
    (benchopt re-creates the benchmark_utils package per Benchmark) shares it."""
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
            != ["benchmark", "run", "run_kwargs_generator", "config"]):
        warnings.warn("benchmark_mri: this benchopt's runner differs from 1.10's: "
                      "result files of concurrent runs may collide, and a stopped "
                      "run does not say how to recover (benchmark_utils/run_guard.py).",
                      stacklevel=2)
        return
    results.uniquify_fname = reserve_unique
    runner.parallel_run = _counting(runner.parallel_run)
    atexit.register(_at_exit)
