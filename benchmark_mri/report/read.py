"""Reading a benchopt result file into a Run: what the page is built from.

benchopt's result file (benchopt.results.read_results): one row per point of a
curve, identified by `objective_name`, `dataset_name`, `solver_name` and
`idx_rep`, with `stop_val` (iterations / epochs, or 1 for a run-once solver),
`time` (solver seconds), the metrics `objective_<name>`, the parameters
`p_solver_*` / `p_dataset_*` and provenance columns. benchmark_mri's objective
adds `final_results` on the last row of each curve (benchmark_mri/results.py).

The file is read with benchopt's own reader (benchopt.results.read_results,
imported when a file is read): it decodes the packed `final_results` cells
with benchopt's unpickling allowlist, a format this package should not copy.

The shards of a sharded run (a dataset's `shard="i/n"` parameter) are merged
into whole-split rows first (shards.merge_shards), so that every figure and
table shows the whole split; what the merge says joins `Run.problems`.

`load_run` raises ReportInputError only when nothing can be shown (no file, an
empty or unreadable file, no rows, not a benchopt file); anything else that is
missing (a run that diverged or that the timeout cut, another benchmark's
metrics, a solver that failed on a dataset, NaN, no saved reconstructions)
becomes a sentence in `Run.problems` (problems.py), and the report shows the
rest.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..results import Metric
from . import problems as checks
from .groups import Group, group_by_setting
from .names import short_names
from .palette import solver_colors
from .shards import merge_shards

REQUIRED = ("solver_name", "dataset_name", "stop_val", "time")


class ReportInputError(ValueError):
    """The result file cannot be turned into a report at all."""


@dataclass
class Run:
    """A read result file: its rows (sorted by curve, then stop_val), the
    metrics to show, the dataset settings, one colour and one short label per
    solver, the run's provenance and what is missing."""

    path: Path
    frame: pd.DataFrame
    metrics: list[Metric]
    groups: list[Group]
    colors: dict[str, str]
    provenance: dict
    problems: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, solver: str) -> str:
        """The short display name of a solver (see names.short_names)."""
        return self.labels.get(solver, str(solver))


def read_frame(path: Path) -> pd.DataFrame:
    """benchopt's result table, or ReportInputError saying why not."""
    path = Path(path)
    if not path.is_file():
        raise ReportInputError(f"Result file {path} does not exist.")
    if path.stat().st_size == 0:
        raise ReportInputError(
            f"Result file {path} is empty (0 bytes): the run that wrote it was "
            "probably interrupted. Re-run `benchopt run` or pick another file."
        )
    from benchopt.results import read_results

    try:
        frame = read_results(path)
    except Exception as err:  # pyarrow / pandas raise many types here
        raise ReportInputError(
            f"Result file {path} cannot be read as a benchopt result file "
            f"({type(err).__name__}: {err}). It may be truncated or not a "
            ".parquet / .csv written by `benchopt run`."
        ) from err
    if frame.empty:
        raise ReportInputError(
            f"Result file {path} has no rows: no solver produced a result."
        )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ReportInputError(
            f"Result file {path} lacks the columns {missing} of benchopt's "
            "result format: it was not written by `benchopt run`."
        )
    return frame


def load_run(path) -> Run:
    """Read and check a result file (see the module doc)."""
    path = Path(path)
    frame = read_frame(path)
    if "objective_name" not in frame.columns:
        frame["objective_name"] = "objective"
    if "idx_rep" not in frame.columns:
        frame["idx_rep"] = 0
    frame, shard_notes = merge_shards(frame)
    frame = frame.sort_values(["objective_name", "dataset_name", "solver_name",
                               "idx_rep", "stop_val", "time"], kind="stable")
    frame = frame.reset_index(drop=True)
    metrics, problems = checks.choose_metrics(frame, path.name)
    groups = group_by_setting(frame)
    problems = (checks.diverged_runs(groups) + checks.timeout_runs(groups)
                + shard_notes + problems)
    problems += checks.missing_runs(frame, groups)
    problems += checks.non_finite(groups, metrics)
    provenance, unsaved = checks.saved_results(frame, groups)
    solvers = frame["solver_name"].unique()
    return Run(path=path, frame=frame, metrics=metrics, groups=groups,
               colors=solver_colors(solvers), provenance=provenance,
               problems=problems + unsaved, labels=short_names(solvers))
