"""What a readable result file lacks, in words, and which metrics it has.

Each function returns sentences for the top of the page ("What is missing");
none raises: the report shows whatever else the file holds. Problems named:
runs that diverged (listed first), runs that benchopt's timeout stopped
before their end (next), another benchmark's file (objective name or metric
columns), a solver with no result on a dataset setting (benchopt
drops failed runs), NaN / infinite metrics, and saved reconstructions that
are absent or in another format.
"""

import numpy as np
import pandas as pd

from ..results import (
    KNOWN_METRICS,
    NOT_METRICS,
    OBJECTIVE_NAME,
    Metric,
    read_final_results,
)
from .groups import (
    Group,
    diverged,
    diverged_solvers,
    final_rows,
    timed_out,
    timed_out_solvers,
)


def choose_metrics(frame: pd.DataFrame, file_name: str) -> tuple[list[Metric], list]:
    """(metrics, problems): this benchmark's metrics present in the frame,
    else every other numeric objective_* column (or objective_value)."""
    names = sorted(set(frame["objective_name"].astype(str)))
    # The objective's parameters (e.g. "[smaps=espirit]") follow its name.
    bases = {name.split("[")[0] for name in names}
    known = [m for m in KNOWN_METRICS if m.column in frame.columns]
    absent = [m.column for m in KNOWN_METRICS if m.column not in frame.columns]
    problems = []
    if bases != {OBJECTIVE_NAME} or absent:
        problems.append(
            f"{file_name} looks like another benchmark's result file (objective "
            f"{', '.join(map(repr, names))}, expected {OBJECTIVE_NAME!r}); "
            f"missing metric columns: {', '.join(absent) or 'none'}."
            + ("" if known else " The curves show the metrics it has instead.")
        )
    if known:
        return known, problems
    others = [c for c in frame.columns
              if c.startswith("objective_") and c not in NOT_METRICS
              and not c.endswith("_std") and pd.api.types.is_numeric_dtype(frame[c])]
    if not others and "objective_value" in frame.columns:
        others = ["objective_value"]
    return [Metric(c, c.removeprefix("objective_"), None,
                   std_column=c + "_std" if c + "_std" in frame.columns else None)
            for c in others], problems


def missing_runs(frame: pd.DataFrame, groups: list[Group]) -> list[str]:
    """A sentence per (solver, setting) of the run without a row."""
    solvers = list(dict.fromkeys(frame["solver_name"]))
    problems = []
    for group in groups:
        present = set(group.frame["solver_name"])
        for solver in solvers:
            if solver not in present:
                problems.append(
                    f"{solver} has no result on {group.subtitle}: it failed, "
                    "diverged or was not run there (benchopt drops failed runs)."
                )
    return problems


def diverged_runs(groups: list[Group]) -> list[str]:
    """A sentence per (setting, solver) whose last point diverged."""
    return _flagged_runs(groups, diverged, diverged_solvers, lambda who, where: (
        f"{who} DIVERGED{where}: it is not ranked (its metrics are NaN, shown as "
        "'diverged'). The run's console output says why and what to change (e.g. "
        "a lower learning rate, a valid step size)."))


def timeout_runs(groups: list[Group]) -> list[str]:
    """A sentence per (setting, solver) whose run benchopt's timeout stopped."""
    return _flagged_runs(groups, timed_out, timed_out_solvers, lambda who, where: (
        f"{who} was STOPPED BY benchopt's TIMEOUT{where}, before its own end: its "
        "last point is not converged, shown but not ranked. Re-run it with a "
        "larger --timeout, or --no-timeout."))


def _flagged_runs(groups, flag, solvers_of, sentence) -> list[str]:
    """sentence(who, where) per (setting, solver) of solvers_of(group) whose
    last points `flag` marks: who is 'solver on setting', where says in how
    many repetitions and at which point."""
    problems = []
    for group in groups:
        last = final_rows(group.frame)
        flagged = last[flag(last)]
        for solver in solvers_of(group):
            rows = flagged[flagged["solver_name"] == solver]
            reps = int((last["solver_name"] == solver).sum())
            share = f" in {len(rows)} of {reps} repetitions" if reps > 1 else ""
            problems.append(sentence(f"{solver} on {group.subtitle}",
                                     share + _where(rows.iloc[0])))
    return problems


def _where(row) -> str:
    epochs = pd.to_numeric(row.get("objective_train_epochs"), errors="coerce")
    if np.isfinite(epochs):
        return f" after {int(epochs)} completed training epoch(s)"
    return f" at iteration {row['stop_val']}"


def non_finite(groups: list[Group], metrics: list[Metric]) -> list[str]:
    """A sentence per (setting, solver, metric) with NaN / infinite points,
    diverged solvers aside (diverged_runs names them)."""
    problems = []
    # Only the metrics: a measurement (inference time...) is absent (NaN) for
    # the solvers that do not report it, which is no fault.
    columns = [m.column for m in metrics]
    for group in groups:
        skipped = set(diverged_solvers(group))
        for solver, rows in group.frame.groupby("solver_name", sort=False):
            if solver in skipped:
                continue
            for column in columns:
                values = pd.to_numeric(rows[column], errors="coerce")
                bad = int((~np.isfinite(values.to_numpy(dtype=float))).sum())
                if bad:
                    problems.append(
                        f"{solver} on {group.subtitle}: {column} is NaN or "
                        f"infinite at {bad} of {len(rows)} points (left out of "
                        "the curves; n/a in the table when at the last point)."
                    )
    return problems


def saved_results(frame: pd.DataFrame, groups: list[Group]) -> tuple[dict, list]:
    """(provenance, problems) from the `final_results` cells: the first
    provenance found, and a sentence per final row without a readable cell."""
    if "final_results" not in frame.columns:
        return {}, [
            "No reconstructions were saved in this file (no final_results "
            "column): the gallery is empty. benchmark_mri's objective saves "
            "them (save_final_results); re-run with it to get the gallery."
        ]
    provenance, problems = {}, []
    for group in groups:
        last = final_rows(group.frame)
        for _, row in last[last["idx_rep"] == last["idx_rep"].min()].iterrows():
            _, prov, problem = read_final_results(row["final_results"])
            provenance = provenance or prov
            if problem:
                problems.append(f"{row['solver_name']} on {group.subtitle}: "
                                f"{problem}; it is left out of the gallery.")
    return provenance, problems
