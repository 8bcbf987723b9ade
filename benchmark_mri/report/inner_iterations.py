"""Test-time inner iterations: which final rows form one line of the view.

Every learned solver records, on each row of its curve, the inner iterations
it used at test time (`objective_inference_iterations`) and those its model
was trained with (`objective_train_iterations`); see benchmark_mri/results.py.
The view plots a setting's final metrics against the first and stars the
second. Which rows form a line is read from these records, never guessed from
parameter names:

- Among the final rows of one dataset setting where both columns are finite,
  grouped by base solver name (the name before "[", names.split_name), a
  parameter is a *test-time parameter* of that base name when two solvers
  differ only in that parameter, have equal `objective_train_iterations` and
  different `objective_inference_iterations`.
- A line is a solver name without its base name's test-time parameters
  (names.without), with one training count. Its points: x =
  `objective_inference_iterations`; the metrics are averaged over repetitions
  and over solvers of the line at the same x (`test_iterations=None` and
  `test_iterations=20` of a model trained with 20 are one point).
- The star, and a dotted vertical line, are at x = the line's
  `objective_train_iterations` (the star where the line has a point there).
- A line is drawn only with at least 2 distinct x values; the view only with
  a line.
"""

from itertools import combinations

import numpy as np
import pandas as pd

from ..results import INFERENCE_ITERATIONS, TRAIN_ITERATIONS, result_column
from .names import split_name, without

INFERENCE = result_column(INFERENCE_ITERATIONS)
TRAINED = result_column(TRAIN_ITERATIONS)


def sweep_parameters(final: pd.DataFrame) -> dict[str, set[str]]:
    """{base solver name: its test-time parameters} among the final rows of
    one setting that carry both iteration counts (module doc)."""
    solvers = final.groupby("solver_name", sort=True)[[INFERENCE, TRAINED]].first()
    by_base = {}
    for solver, counts in solvers.iterrows():
        base, params = split_name(solver)
        by_base.setdefault(base, []).append(
            (dict(params), counts[TRAINED], counts[INFERENCE]))
    found = {base: set() for base in by_base}
    for base, entries in by_base.items():
        for (p, trained_p, used_p), (q, trained_q, used_q) in combinations(entries, 2):
            differ = [k for k in sorted(p.keys() | q.keys()) if p.get(k) != q.get(k)]
            if len(differ) == 1 and trained_p == trained_q and used_p != used_q:
                found[base].add(differ[0])
    return found


def sweep_lines(final: pd.DataFrame) -> pd.DataFrame:
    """The final rows of one setting that belong to a drawn line, with three
    more columns: `line` (its legend name), `x` (inference iterations) and
    `trained` (the line's training count). Empty when no line is drawn."""
    if INFERENCE not in final.columns or TRAINED not in final.columns:
        return final.iloc[:0]
    used = pd.to_numeric(final[INFERENCE], errors="coerce").astype(float)
    trained = pd.to_numeric(final[TRAINED], errors="coerce").astype(float)
    ok = np.isfinite(used) & np.isfinite(trained)
    rows = final[ok].assign(x=used[ok], trained=trained[ok])
    if rows.empty:
        return rows
    params = sweep_parameters(rows)
    names = rows["solver_name"].map(
        lambda s: without(s, params.get(split_name(s)[0], ())))
    rows = rows.assign(line=names)
    counts = rows.groupby("line")["trained"].transform("nunique")
    several = counts > 1  # one name, several training counts: say which
    rows.loc[several, "line"] = [f"{line} (trained with {t:g})" for line, t in
                                 zip(rows["line"][several], rows["trained"][several])]
    distinct = rows.groupby("line")["x"].transform("nunique")
    return rows[distinct >= 2]
