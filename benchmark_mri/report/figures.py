"""Plotly figures of one dataset / setting: curves, test-time iterations,
metrics against posterior samples drawn, and final PSNR against training
memory.

Every figure colours a solver with `Run.colors[solver_name]` and groups its
traces under one legend entry (clicking it hides the solver in all panels).
Non-finite points are dropped (problems.py reports them).
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..results import (
    KNOWN_METRICS,
    N_SAMPLES_DRAWN,
    SAVED_TENSORS_MB,
    TRAIN_PEAK_MEMORY_MB,
    UNCERTAINTY_METRICS,
    Metric,
    result_column,
)
from .groups import Group, final_rows
from .inner_iterations import sweep_lines
from .names import short_names

X_AXES = {
    "time": ("time (s)", "log"),
    "stop_val": ("iterations / epochs", "linear"),
}
# The x of a learned solver's curve is epochs, of the others iterations (or
# one point, for a run-once solver): each kind gets its own row of panels.
STOP_VAL_KINDS = (("iterations", "iterations (classical solvers)"),
                  ("epochs", "epochs (learned solvers: training)"))
TRAINING_COLUMNS = tuple(result_column(n) for n in (
    "train_epochs", "train_time_s", "train_iterations", TRAIN_PEAK_MEMORY_MB))
_LAYOUT = dict(template="plotly_white", height=360, margin=dict(l=60, r=20, t=40, b=50),
               legend=dict(orientation="h", y=-0.22), hovermode="closest")


def _panels(metrics: list[Metric], shared_x_title: str, x_titles=None):
    """One panel per metric; x_titles: one row of panels per title (the
    x-axis title of that row), else one row titled shared_x_title."""
    x_titles = x_titles or [shared_x_title]
    fig = make_subplots(rows=len(x_titles), cols=len(metrics), horizontal_spacing=0.07,
                        vertical_spacing=0.22 if len(x_titles) > 1 else 0.1,
                        subplot_titles=[m.label for m in metrics] * len(x_titles))
    for row, x_title in enumerate(x_titles, start=1):
        for i, metric in enumerate(metrics, start=1):
            fig.update_yaxes(type="log" if metric.log else "linear", row=row, col=i)
            fig.update_xaxes(title_text=x_title, row=row, col=i)
    return fig


def learned_solvers(frame: pd.DataFrame) -> set:
    """The solvers of `frame` that train (a finite training measurement on
    some row: TRAINING_COLUMNS)."""
    present = [c for c in TRAINING_COLUMNS if c in frame.columns]
    if not present:
        return set()
    trains = frame[present].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)
    return set(frame.loc[trains, "solver_name"])


def _time_axis(frame: pd.DataFrame) -> pd.Series:
    """x of the log time axis. The start of a curve (stop_val 0: the point
    before any iteration or epoch, its measured time a few microseconds or
    0) is drawn at a third of the smallest time of the other points, at the
    axis' left, not at its microseconds; the hover gives the recorded time."""
    xs = pd.to_numeric(frame["time"], errors="coerce").astype(float)
    start = (pd.to_numeric(frame["stop_val"], errors="coerce") == 0) | (xs <= 0)
    later = xs[~start & (xs > 0)]
    floor = later.min() / 3 if len(later) else 1e-3
    return xs.where(~start, floor)


def curves(group: Group, metrics: list[Metric], colors: dict, x: str = "time",
           labels: dict | None = None):
    """Each metric versus `x` ("time" or "stop_val"), one panel per metric.

    On the log time axis, a curve's start is drawn at the axis' left
    (_time_axis). Against stop_val, classical solvers (iterations) and
    learned ones (epochs) get a row of panels each, with their own x axes:
    474 iterations and 10 epochs on one axis hid the learned curves at 0.
    """
    title, scale = X_AXES[x]
    frame = group.frame
    rows = {s: 1 for s in frame["solver_name"].unique()}
    x_titles = None
    if x == "stop_val":
        learned = learned_solvers(frame)
        kinds = [k for k, _ in STOP_VAL_KINDS
                 if any((s in learned) == (k == "epochs") for s in rows)]
        x_titles = [t for k, t in STOP_VAL_KINDS if k in kinds]
        rows = {s: kinds.index("epochs" if s in learned else "iterations") + 1
                for s in rows}
    fig = _panels(metrics, title, x_titles)
    xs = (_time_axis(frame) if scale == "log"
          else pd.to_numeric(frame[x], errors="coerce").astype(float))
    frame = frame.assign(_x=xs)
    for solver, solver_rows in frame.groupby("solver_name", sort=True):
        for rep, curve in solver_rows.groupby("idx_rep", sort=True):
            for i, metric in enumerate(metrics, start=1):
                y = pd.to_numeric(curve[metric.column], errors="coerce").astype(float)
                ok = np.isfinite(y) & np.isfinite(curve["_x"])
                if metric.log:
                    ok &= y > 0
                if not ok.any():
                    continue
                fig.add_trace(go.Scatter(
                    x=curve["_x"][ok].to_numpy(), y=y[ok].to_numpy(),
                    customdata=np.stack([curve["time"][ok], curve["stop_val"][ok]], -1),
                    mode="lines+markers", name=(labels or {}).get(solver, str(solver)),
                    legendgroup=str(solver),
                    showlegend=bool(i == 1 and rep == solver_rows["idx_rep"].min()),
                    line=dict(color=colors[solver], width=2),
                    marker=dict(size=6, color=colors[solver]),
                    hovertemplate=(f"<b>{solver}</b><br>{metric.label}: %{{y:.4g}}"
                                   "<br>time: %{customdata[0]:.3g} s"
                                   "<br>stop_val: %{customdata[1]}<extra></extra>"),
                ), row=rows[solver], col=i)
    fig.update_layout(**{**_LAYOUT, "height": 360 * len(x_titles or [title])})
    fig.update_xaxes(type=scale)
    return fig


def inner_iterations_figure(group: Group, metrics: list[Metric], colors: dict):
    """Final metrics versus test-time inner iterations, or None without a sweep.

    Lines, points and the star at the training count: inner_iterations.py.
    Panels: PSNR and SSIM (KNOWN_METRICS[:2]; else the first two metrics).
    """
    lines = sweep_lines(final_rows(group.frame))
    if lines.empty:
        return None
    panels = [m for m in metrics if m in KNOWN_METRICS[:2]] or metrics[:2]
    fig = _panels(panels, "inference_iterations (inner iterations at test time)")
    columns = [m.column for m in panels]
    names = short_names(lines["line"].unique())  # the legend's: what differs
    for line, rows in lines.groupby("line", sort=True):
        color = colors[rows["solver_name"].iloc[0]]
        label = names[line]
        trained = float(rows["trained"].iloc[0])
        points = rows[["x", *columns]].apply(pd.to_numeric, errors="coerce")
        points = points.groupby("x", as_index=False).mean().sort_values("x")
        for i, metric in enumerate(panels, start=1):
            fig.add_trace(go.Scatter(
                x=points["x"], y=points[metric.column].astype(float),
                mode="lines+markers", name=label, legendgroup=line,
                showlegend=i == 1, line=dict(color=color, width=2),
                marker=dict(size=7, color=color),
                hovertemplate=(f"<b>{label}</b><br>inner iterations: %{{x}}<br>"
                               f"{metric.label}: %{{y:.4g}}<extra></extra>"),
            ), row=1, col=i)
            _training_mark(fig, i, line, label, points[points["x"] == trained],
                           metric, color, trained)
    fig.update_layout(**_LAYOUT)
    return fig


def _training_mark(fig, col: int, line: str, label: str, at: pd.DataFrame,
                   metric: Metric, color: str, trained: float):
    """The dotted vertical line at the training count, and the star on the
    line's point there (when it has one)."""
    fig.add_vline(x=trained, line=dict(color=color, dash="dot", width=1),
                  row=1, col=col)
    if at.empty:
        return
    fig.add_trace(go.Scatter(
        x=at["x"], y=at[metric.column], mode="markers",
        name=f"{label}: training value ({trained:g} inner iterations)",
        legendgroup=line, showlegend=col == 1,
        marker=dict(symbol="star", size=15, color=color,
                    line=dict(color="black", width=1)),
        hovertemplate=(f"trained with {trained:g} inner iterations"
                       "<extra></extra>"),
    ), row=1, col=col)


SAMPLES = result_column(N_SAMPLES_DRAWN)
TRAIN_EPOCHS = result_column("train_epochs")


def sampling_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the test-time sampling of each curve: n_samples_drawn >= 1
    with the curve's final training (its largest train_epochs), i.e. after
    the training points (learned/score/run.py)."""
    if SAMPLES not in frame.columns:
        return frame.iloc[:0]
    drawn = pd.to_numeric(frame[SAMPLES], errors="coerce").astype(float)
    rows = frame[drawn >= 1].assign(_n=drawn[drawn >= 1])
    if TRAIN_EPOCHS in rows.columns and not rows.empty:
        epochs = pd.to_numeric(rows[TRAIN_EPOCHS], errors="coerce").fillna(0)
        final = epochs.groupby([rows[c] for c in ("solver_name", "idx_rep")]
                               ).transform("max")
        rows = rows[epochs == final]
    return rows


def samples_figure(group: Group, metrics: list[Metric], colors: dict,
                   labels: dict | None = None):
    """PSNR, SSIM (the first two metrics) and the 2-std coverage against the
    posterior samples drawn, one line per solver and repetition, or None
    when no curve has two sampling points (solvers/score_posterior.py)."""
    rows = sampling_rows(group.frame)
    if rows.empty:
        return None
    counts = rows.groupby(["solver_name", "idx_rep"])["_n"].nunique()
    if not (counts >= 2).any():
        return None
    panels = ([m for m in metrics if m in KNOWN_METRICS[:2]] or metrics[:2])
    panels += [m for m in UNCERTAINTY_METRICS[:1] if m.column in rows.columns]
    fig = _panels(panels, "posterior samples drawn")
    for (solver, rep), curve in rows.groupby(["solver_name", "idx_rep"], sort=True):
        curve = curve.sort_values("_n")
        for i, metric in enumerate(panels, start=1):
            y = pd.to_numeric(curve[metric.column], errors="coerce").astype(float)
            ok = np.isfinite(y)
            if not ok.any():
                continue
            fig.add_trace(go.Scatter(
                x=curve["_n"][ok].to_numpy(), y=y[ok].to_numpy(), mode="lines+markers",
                name=(labels or {}).get(solver, str(solver)), legendgroup=str(solver),
                showlegend=bool(i == 1 and rep == rows["idx_rep"].min()),
                line=dict(color=colors[solver], width=2),
                marker=dict(size=6, color=colors[solver]),
                hovertemplate=(f"<b>{solver}</b><br>samples: %{{x}}<br>"
                               f"{metric.label}: %{{y:.4g}}<extra></extra>"),
            ), row=1, col=i)
    fig.update_layout(**_LAYOUT)
    return fig


MEMORY_PANELS = (  # (column, axis title)
    (result_column(SAVED_TENSORS_MB),
     "saved for backward, one step (MB, deterministic)"),
    (result_column(TRAIN_PEAK_MEMORY_MB),
     "peak training memory (MB; CPU: whole-process RSS)"),
)


def memory_figure(group: Group, metrics: list[Metric], colors: dict,
                  labels: dict | None = None):
    """Final PSNR (the first metric) against training memory, one labelled
    point per solver configuration (mean over repetitions), or None when no
    solver of the group reports training memory.

    Two panels: `saved_tensors_mb` (deterministic: what autograd keeps for one
    step's backward, the part that unrolled depth, checkpointing and greedy
    training change) and `train_peak_memory_mb` (on a GPU the allocator's
    peak; on a CPU the peak resident memory of the whole process, Python and
    torch included, which separates configurations poorly). Log axes.
    """
    panels = [(c, t) for c, t in MEMORY_PANELS if c in group.frame.columns]
    metric = (metrics or KNOWN_METRICS)[0]
    if not panels or metric.column not in group.frame.columns:
        return None
    last = final_rows(group.frame)
    columns = [metric.column] + [c for c, _ in panels]
    points = last[["solver_name", *columns]].copy()
    points[columns] = points[columns].apply(pd.to_numeric, errors="coerce")
    points = points.groupby("solver_name", sort=True).mean()
    points = points[np.isfinite(points[metric.column])]
    if not np.isfinite(points[[c for c, _ in panels]]).to_numpy().any():
        return None
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.1,
                        subplot_titles=[t for _, t in panels])
    for i, (column, title) in enumerate(panels, start=1):
        xs = points[column][np.isfinite(points[column]) & (points[column] > 0)]
        span = (np.log10([xs.min() / 1.4, xs.max() * 1.4]).tolist()
                if len(xs) else None)  # room for the labels at the edges
        fig.update_xaxes(title_text=title.split(" (")[0] + " (MB)", type="log",
                         range=span, row=1, col=i)
        fig.update_yaxes(title_text=metric.label, row=1, col=i)
        for solver, row in points.iterrows():
            if not (np.isfinite(row[column]) and row[column] > 0):
                continue
            label = (labels or {}).get(solver, str(solver))
            fig.add_trace(go.Scatter(
                x=[row[column]], y=[row[metric.column]], mode="markers+text",
                text=[label], textposition="bottom center", name=label,
                legendgroup=str(solver), showlegend=i == 1,
                textfont=dict(size=10, color=colors[solver]),
                marker=dict(size=10, color=colors[solver]),
                hovertemplate=(f"<b>{solver}</b><br>{metric.label}: %{{y:.4g}}"
                               "<br>%{x:.4g} MB<extra></extra>"),
            ), row=1, col=i)
    if not fig.data:
        return None
    low, high = points[metric.column].min(), points[metric.column].max()
    pad = max(0.1 * (high - low), 0.5)  # room for the labels below the points
    fig.update_yaxes(range=[low - 2 * pad, high + pad])
    fig.update_layout(**{**_LAYOUT, "height": 420})
    return fig
