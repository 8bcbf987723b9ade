"""The sampling view: for each reconstructor, PSNR / SSIM against the mask,
at equal sampled fraction.

A run over several masks (`-d "phantom[mask_type=[random,equispaced,gaussian]]"`)
and solvers that propose their own (`loupe`, data/acquisition.py) puts each
mask in its own dataset setting. This view gathers them back: one figure per
dataset at one acceleration (the same budget, so the same sampled fraction
within a column or two), the masks on the x axis (random, equispaced,
gaussian, then the solvers' masks such as "learned"), one line per
reconstructor seen with two masks or more. A row measured with the dataset's
mask (`solver_mask` 0) belongs to its solver (the short label) and the
dataset's `mask_type`; a row
measured with the solver's own mask (`solver_mask` 1) to the reconstructor
the solver names in its `network` parameter (loupe's "unet" or "xpdnet";
else its label) and the mask's name saved with the results ("learned").
Points: the mean over repetitions of the last point of each curve, with
the spread over repetitions as error bars when there are several; the
hover gives the sampled fraction. Diverged runs and runs cut by the
timeout are left out (listed at the top of the page).
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..results import KNOWN_METRICS, SAMPLED_FRACTION, result_column
from .groups import by_solver_mask, diverged, final_rows, saved_mask_name, timed_out
from .names import split_name, without
from .palette import PALETTE

FRACTION = result_column(SAMPLED_FRACTION)
MASK_ORDER = ("random", "equispaced", "gaussian")  # then the solvers' masks
PANELS = KNOWN_METRICS[:2]  # PSNR, SSIM


def sampling_points(frame: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """One row per final point: setting (the dataset without its mask_type),
    reconstructor, mask, sampled fraction, repetition and the metrics; empty
    when the file records no sampled fraction."""
    if FRACTION not in frame.columns or "p_dataset_mask_type" not in frame.columns:
        return pd.DataFrame()
    last = final_rows(frame)
    last = last[~diverged(last) & ~timed_out(last)]
    fraction = pd.to_numeric(last[FRACTION], errors="coerce")
    last = last[np.isfinite(fraction)]
    # A solver's mask name, from whichever repetition saved it.
    names = {}
    for _, row in last.iterrows():
        key = (row["solver_name"], row["dataset_name"])
        names[key] = names.get(key) or saved_mask_name(row)
    rows = []
    for _, row in last.iterrows():
        by_solver = by_solver_mask(row)
        solver = str(row["solver_name"])
        network = dict(split_name(solver)[1]).get("network")
        rows.append({
            "setting": without(row["dataset_name"], {"mask_type"}),
            "reconstructor": (network if by_solver and network
                              else labels.get(solver, solver)),
            "mask": (names[(solver, row["dataset_name"])] or "solver's")
            if by_solver else str(row["p_dataset_mask_type"]),
            "solver": solver, "idx_rep": row["idx_rep"],
            "fraction": float(row[FRACTION]),
            **{m.column: pd.to_numeric(row.get(m.column), errors="coerce")
               for m in PANELS},
        })
    return pd.DataFrame(rows)


def _mask_order(masks) -> list[str]:
    known = [m for m in MASK_ORDER if m in set(masks)]
    return known + sorted(set(masks) - set(known))


def comparable_settings(points: pd.DataFrame) -> list[str]:
    """Settings where some reconstructor has two masks or more: what the
    view compares (one mask per reconstructor compares nothing)."""
    if points.empty:
        return []
    masks = points.groupby(["setting", "reconstructor"])["mask"].nunique()
    return sorted({s for (s, _), n in masks.items() if n >= 2})


def sampling_figure(points: pd.DataFrame, setting: str, colors: dict):
    """PSNR and SSIM against the mask for one setting, one line per
    reconstructor (see the module doc)."""
    rows = points[points["setting"] == setting]
    n_masks = rows.groupby("reconstructor")["mask"].transform("nunique")
    rows = rows[n_masks >= 2]  # a reconstructor seen with one mask compares none
    order = _mask_order(rows["mask"])
    fig = make_subplots(rows=1, cols=len(PANELS), horizontal_spacing=0.09,
                        subplot_titles=[m.label for m in PANELS])
    for n, (name, curve) in enumerate(rows.groupby("reconstructor", sort=True)):
        # Mean over repetitions of each (mask, solver), then over solvers.
        reps = curve.groupby(["mask", "solver"]).agg(
            **{c: (c, "mean") for c in [m.column for m in PANELS] + ["fraction"]},
            **{c + "_sd": (c, "std") for c in [m.column for m in PANELS]},
            n=("idx_rep", "nunique"))
        means = reps.groupby(level="mask").mean().reindex(
            [m for m in order if m in reps.index.get_level_values("mask")])
        color = (colors.get(name) or _solver_color(curve, colors)
                 or PALETTE[n % len(PALETTE)])
        for i, metric in enumerate(PANELS, start=1):
            spread = means[metric.column + "_sd"]
            fig.add_trace(go.Scatter(
                x=list(means.index), y=means[metric.column].to_numpy(),
                error_y=dict(type="data", array=spread.fillna(0).to_numpy(),
                             visible=bool(spread.notna().any())),
                customdata=np.stack([means["fraction"], means["n"]], -1),
                mode="lines+markers", name=str(name), legendgroup=str(name),
                showlegend=i == 1, line=dict(color=color, width=2),
                marker=dict(size=9, color=color),
                hovertemplate=(f"<b>{name}</b>, %{{x}} mask<br>{metric.label}: "
                               "%{y:.4g}<br>sampled fraction: %{customdata[0]:.4f}"
                               "<br>repetitions: %{customdata[1]}<extra></extra>"),
            ), row=1, col=i)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order,
                     title_text="mask")
    fig.update_layout(template="plotly_white", height=380,
                      margin=dict(l=60, r=20, t=40, b=50),
                      legend=dict(orientation="h", y=-0.25), hovermode="closest")
    return fig


def _solver_color(curve: pd.DataFrame, colors: dict) -> str | None:
    """The colour of the reconstructor's own solver (measured with the
    dataset's masks), when the run has it."""
    for solver in curve["solver"]:
        if split_name(solver)[0] == curve["reconstructor"].iloc[0]:
            return colors.get(solver)
    return None


def fractions_table(points: pd.DataFrame, setting: str) -> pd.DataFrame:
    """Mean sampled fraction per mask (rows) in one setting: what "equal
    sampled fraction" rests on."""
    rows = points[points["setting"] == setting]
    table = rows.groupby("mask")["fraction"].agg(["mean", "min", "max"])
    return table.reindex(_mask_order(table.index))
