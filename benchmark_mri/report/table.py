"""The final table of one dataset / setting, as HTML.

One row per solver, from the last point of its curve, with what a reader
compares (MAIN_MEASUREMENTS): the metrics as mean ± spread over test volumes
(the objective's `_std` columns), the solver time, the inference time per
slice and the peak training memory, and, when a solver of the setting was
trained under another setting (report/robustness.py), its drop in PSNR
against the same model trained in distribution. Everything else the file
has is folded into a second table under "more measurements" (a <details>
element, scrolled sideways when wide): the uncertainty metrics of posterior
samplers when the file has them (results.UNCERTAINTY_METRICS: coverage, mean
posterior std, error-std correlation, also mean ± spread; n/a for solvers
without a posterior), the other known measurements (saved tensors, time per
epoch, time per posterior sample, ...) and any other numeric objective_*
column (training and DEQ internals). The main table fits a 1400 px page.
Repetitions are averaged. The best value of each column with a direction is
highlighted; NaN shows as "n/a". A solver whose run diverged
(groups.diverged_solvers) shows "diverged" instead of its metrics and is
never highlighted; one that benchopt's timeout stopped
(groups.timed_out_solvers) shows its last point marked "timeout", never
highlighted.
"""

import html

import numpy as np
import pandas as pd

from ..results import (
    INFERENCE_TIME_S,
    KNOWN_MEASUREMENTS,
    NOT_METRICS,
    TRAIN_PEAK_MEMORY_MB,
    UNCERTAINTY_METRICS,
    Metric,
    result_column,
)
from .groups import Group, diverged_solvers, final_rows, timed_out_solvers
from .names import breakable

NA_CELL = '<span class="na">n/a</span>'
DIVERGED_CELL = '<span class="diverged">diverged</span>'
# Beside the metrics in the main table; the rest goes to "more measurements".
MAIN_MEASUREMENTS = ("time", result_column(INFERENCE_TIME_S),
                     result_column(TRAIN_PEAK_MEMORY_MB))
TIMEOUT_MARK = ('<span class="timeout" title="stopped by benchopt\'s timeout before '
                'its end: not converged, not ranked">timeout</span>')


def table_columns(frame: pd.DataFrame, metrics: list[Metric]) -> list[Metric]:
    """Metrics, uncertainty metrics, known measurements, then other numeric
    objective_* columns (those present in the frame)."""
    columns = list(metrics) + [m for m in (*UNCERTAINTY_METRICS, *KNOWN_MEASUREMENTS)
                               if m.column in frame and m not in metrics]
    taken = {m.column for m in columns} | {m.std_column for m in columns}
    for column in frame.columns:
        if (column.startswith("objective_") and column not in taken
                and column not in NOT_METRICS and not column.endswith("_std")
                and pd.api.types.is_numeric_dtype(frame[column])):
            columns.append(Metric(column, column.removeprefix("objective_"), None))
    return columns


def final_table(group: Group, metrics: list[Metric]) -> pd.DataFrame:
    """Rows: solvers; columns: `column` and `column + "_std"` of table_columns."""
    last = final_rows(group.frame)
    numeric = [c for m in table_columns(last, metrics)
               for c in (m.column, m.std_column) if c is not None and c in last]
    values = last[["solver_name", *numeric]].copy()
    values[numeric] = values[numeric].apply(pd.to_numeric, errors="coerce")
    return values.groupby("solver_name", sort=True).mean()


def best(values: pd.Series, better: str | None):
    """Index of the best finite value, or None."""
    finite = values[np.isfinite(values.astype(float))]
    if better is None or finite.empty:
        return None
    return finite.idxmax() if better == "max" else finite.idxmin()


def value_cell(value, std=None, spec: str = ".4g") -> str:
    """A value as a table cell, with its ± std when there is one; n/a when
    it is missing or not finite."""
    if value is None or not np.isfinite(value):
        return NA_CELL
    text = format(value, spec)
    if std is not None and np.isfinite(std):
        text += f' <span class="std">± {std:.2g}</span>'
    return text


def _solver_header(solver, colors, labels, mark: str = "") -> str:
    swatch = f'<span class="swatch" style="background:{colors[solver]}"></span>'
    label = (labels or {}).get(solver, str(solver))
    return (f'<th title="{html.escape(str(solver))}">{swatch}'
            f"{breakable(label)}{mark}</th>")


def table_html(group: Group, metrics: list[Metric], colors: dict,
               labels: dict | None = None, drops: dict | None = None) -> str:
    """The main table and, folded, the other measurements (module doc).
    drops: {solver: HTML cell} of the robustness drop column
    (robustness.solver_drops), shown when not empty."""
    table = final_table(group, metrics)
    columns = table_columns(final_rows(group.frame), metrics)
    main = [m for m in columns if m in metrics or m.column in MAIN_MEASUREMENTS]
    main.sort(key=lambda m: (m not in metrics, MAIN_MEASUREMENTS.index(m.column)
                             if m.column in MAIN_MEASUREMENTS else 0))
    more = [m for m in columns if m not in main]
    extra = [("drop (dB) vs. in distribution", drops)] if drops else []
    note = (
        '<p class="note">Last point of each curve; ± is the standard deviation over '
        "test volumes; ↑ / ↓: higher / lower is better, best highlighted "
        "(diverged runs, and runs stopped by the timeout, are never ranked); "
        "solvers are named by the parameters that differ (hover for all)"
        + ("; drop: the PSNR of the same model trained under this setting minus "
           "this one's (see Robustness)" if drops else "") + ".</p>")
    page = _table(group, table, main, metrics, colors, labels, extra) + note
    if more:
        page += ('<details class="more"><summary>More measurements ('
                 f"{len(more)} columns: training, uncertainty, model internals)"
                 '</summary><div class="scroll">'
                 + _table(group, table, more, metrics, colors, labels)
                 + "</div></details>")
    return page


def _table(group, table, columns, metrics, colors, labels, extra=()) -> str:
    """A table of `columns` (Metric) of the final points, best highlighted;
    extra: (header, {solver: HTML cell}) columns appended as they are."""
    failed = diverged_solvers(group)
    stopped = timed_out_solvers(group)
    ranked = table.drop(index=[*failed, *stopped])
    winners = {m.column: best(ranked[m.column], m.better) for m in columns}
    scored = {m.column for m in (*metrics, *UNCERTAINTY_METRICS)}
    head = "".join(
        f'<th title="{html.escape(m.column)}">{html.escape(m.label)}'
        + (" ↑" if m.better == "max" else " ↓" if m.better == "min" else "")
        + "</th>" for m in columns)
    head += "".join(f"<th>{html.escape(title)}</th>" for title, _ in extra)
    body = []
    for solver, row in table.iterrows():
        cells = []
        for m in columns:
            if solver in failed and m.column in scored:
                cells.append(f"<td>{DIVERGED_CELL}</td>")
                continue
            std = row[m.std_column] if m.std_column in table else None
            mark = ' class="best"' if winners[m.column] == solver else ""
            cells.append(f"<td{mark}>{value_cell(row[m.column], std)}</td>")
        cells += [f"<td>{column.get(solver, NA_CELL)}</td>" for _, column in extra]
        mark = f" {TIMEOUT_MARK}" if solver in stopped else ""
        body.append(f"<tr>{_solver_header(solver, colors, labels, mark)}"
                    + "".join(cells) + "</tr>")
    return ('<table class="final"><thead><tr><th>solver</th>' + head
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def overview_html(groups: list[Group], metrics: list[Metric], colors: dict,
                  labels: dict | None = None) -> str:
    """Solvers x dataset settings: the first two metrics of each final point
    (PSNR, SSIM for this benchmark), best per setting highlighted; "—" where
    a solver has no result."""
    shown = metrics[:2]
    tables = [final_table(g, metrics) for g in groups]
    failed = [diverged_solvers(g) for g in groups]
    stopped = [timed_out_solvers(g) for g in groups]
    head = "".join(f'<th><a href="#d{i}">{html.escape(g.title)}</a></th>'
                   for i, g in enumerate(groups))
    winners = [best(t.drop(index=[*f, *c])[shown[0].column], shown[0].better)
               for t, f, c in zip(tables, failed, stopped)]
    body = []
    for solver in sorted(colors):
        cells = []
        for table, winner, diverged, cut in zip(tables, winners, failed, stopped):
            if solver not in table.index:
                cells.append('<td><span class="na">—</span></td>')
                continue
            if solver in diverged:
                cells.append(f"<td>{DIVERGED_CELL}</td>")
                continue
            values = " · ".join(
                value_cell(table.loc[solver, m.column]) for m in shown)
            values += f" {TIMEOUT_MARK}" if solver in cut else ""
            mark = ' class="best"' if winner == solver else ""
            cells.append(f"<td{mark}>{values}</td>")
        body.append(f"<tr>{_solver_header(solver, colors, labels)}"
                    + "".join(cells) + "</tr>")
    labels = " · ".join(html.escape(m.label) for m in shown)
    return (f'<table class="final overview"><thead><tr><th>solver ({labels})</th>'
            f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f'<p class="note">Final points; best {html.escape(shown[0].label)} per '
            "setting highlighted; — : no result (failed or not run); diverged: "
            "the run diverged (never ranked); timeout: stopped by benchopt's "
            "timeout before its end (never ranked).</p>")
