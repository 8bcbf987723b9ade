"""The rows of a result file, grouped by dataset setting, and their last points.

A Group is one (objective_name, dataset_name) pair: one dataset with one
setting (acceleration, mask, ...) under one objective. Its title names the
dataset and the setting in words ("phantom — 4× acceleration, random mask");
its subtitle is the full benchopt dataset name. Groups are sorted by dataset,
then acceleration, then name. A solver whose last point is flagged diverged
(results.DIVERGED_COLUMNS) in any repetition is `diverged_solvers` of its
group: listed, never ranked; one whose run benchopt's timeout stopped
(results.STOPPED_BY_TIMEOUT) is `timed_out_solvers`: listed, shown, never
ranked.
"""

import math
from dataclasses import dataclass

import pandas as pd

from ..results import DIVERGED_COLUMNS, SOLVER_MASK, STOPPED_BY_TIMEOUT, result_column

CURVE = ["objective_name", "dataset_name", "solver_name", "idx_rep"]  # one curve
SOLVER_MASK_COLUMN = result_column(SOLVER_MASK)


@dataclass
class Group:
    """The rows of one dataset and setting (and objective)."""

    key: tuple[str, str]  # (objective_name, dataset_name)
    title: str
    subtitle: str
    frame: pd.DataFrame


def final_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The last point (largest stop_val) of each curve (solver, repetition);
    the frame must be sorted by stop_val within a curve (read.load_run)."""
    return frame.groupby(CURVE, sort=False, as_index=False).tail(1)


def by_solver_mask(row) -> bool:
    """True when the row was measured with its solver's own mask
    (`solver_mask` 1), not the dataset's."""
    value = pd.to_numeric(pd.Series([row.get(SOLVER_MASK_COLUMN)]), errors="coerce")
    return bool(value[0] == 1)


def saved_mask_name(row) -> str | None:
    """The name of the mask the solver saved with its results
    (final_results["mask"], e.g. "learned"); None where the row has none
    (a published file keeps final_results for the first repetition only)."""
    cell = row.get("final_results")
    name = cell.get("mask") if isinstance(cell, dict) else None
    return str(name) if name else None


def diverged(frame: pd.DataFrame) -> pd.Series:
    """Per row: True where a diverged flag (results.DIVERGED_COLUMNS) is 1."""
    flags = pd.Series(False, index=frame.index)
    for column in DIVERGED_COLUMNS:
        if column in frame.columns:
            flags |= pd.to_numeric(frame[column], errors="coerce").eq(1)
    return flags


def diverged_solvers(group: Group) -> list[str]:
    """The group's solvers whose last point diverged (in any repetition)."""
    last = final_rows(group.frame)
    return sorted(set(last.loc[diverged(last), "solver_name"]))


def timed_out(frame: pd.DataFrame) -> pd.Series:
    """Per row: True where the run was stopped by benchopt's timeout."""
    if STOPPED_BY_TIMEOUT not in frame.columns:
        return pd.Series(False, index=frame.index)
    return pd.to_numeric(frame[STOPPED_BY_TIMEOUT], errors="coerce").eq(1)


def timed_out_solvers(group: Group) -> list[str]:
    """The group's solvers whose run the timeout stopped (in any repetition)."""
    last = final_rows(group.frame)
    return sorted(set(last.loc[timed_out(last), "solver_name"]))


def dataset_parameters(frame: pd.DataFrame) -> dict:
    """The p_dataset_* values of a one-dataset frame, without the prefix."""
    row = frame.iloc[0]
    return {c.removeprefix("p_dataset_"): row[c] for c in frame.columns
            if c.startswith("p_dataset_") and not _isnan(row[c])}


def group_by_setting(frame: pd.DataFrame) -> list[Group]:
    """One Group per (objective, dataset) of the frame, sorted (module doc)."""
    keys = list(dict.fromkeys(zip(frame["objective_name"], frame["dataset_name"])))
    several_objectives = len({k[0] for k in keys}) > 1
    groups = []
    for objective, dataset in keys:
        rows = frame[(frame["objective_name"] == objective)
                     & (frame["dataset_name"] == dataset)]
        title = _title(dataset, dataset_parameters(rows))
        title += f" ({objective})" if several_objectives else ""
        groups.append(Group((objective, dataset), title, str(dataset),
                            rows.reset_index(drop=True)))
    return sorted(groups, key=lambda g: (
        g.title.split(" — ")[0],
        _sortable(dataset_parameters(g.frame).get("acceleration")),
        g.subtitle))


def _title(dataset, params: dict) -> str:
    setting = []
    if "acceleration" in params:
        setting.append(f"{_fmt(params['acceleration'])}× acceleration")
    if "mask_type" in params:
        setting.append(f"{params['mask_type']} mask")
    title = str(dataset).split("[")[0]
    return title + (f" — {', '.join(setting)}" if setting else "")


def _isnan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _sortable(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _fmt(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
