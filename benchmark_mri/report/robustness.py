"""Robustness to unseen settings: learned models tested under a shift, beside
the same models trained in distribution, and classical references.

A run's rows say under what they were tested and, for learned solvers,
trained (results.TESTED_UNDER, TRAINED_UNDER: source, acceleration, mask
type; written by the objective). From the final point of every curve:

- a *model* is a solver's name without its training settings
  (TRAINING_PARAMETERS: train_acceleration, train_mask_type);
- a row is *in distribution* when its training setting equals its test
  setting, *shifted* when they differ, a *reference* when its solver does
  not train (classical solvers: no training, so no drop by construction);
- the *drop* of a shifted row is the PSNR of the same model trained in
  distribution, at the same test setting and repetition, minus its own (dB,
  positive when the shift costs), averaged over the repetitions both have
  (± their standard deviation with several). Rows tested on one source
  under one acceleration and mask type are one test setting: keep a
  source's test volumes the same across the datasets of a run.

`robustness_rows(frame)` is that table, one row per final point;
`summarise` averages it over repetitions; `robustness_html` is the
dashboard's section (a figure, the models x test settings table, learned
models ranked by their worst and best case), shown when a run has a
shifted row; `solver_drops` is what the final table of one setting shows.
"""

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..results import KNOWN_METRICS, TESTED_UNDER, TRAINED_UNDER, result_column
from .groups import diverged, final_rows
from .names import breakable, short_names, without
from .table import value_cell

TRAINING_PARAMETERS = ("train_acceleration", "train_mask_type")
TEST = tuple(result_column(name) for name in TESTED_UNDER)
TRAIN = tuple(result_column(name) for name in TRAINED_UNDER)
PSNR, SSIM = KNOWN_METRICS[0], KNOWN_METRICS[1]
REFERENCE, IN_DISTRIBUTION, SHIFTED = "reference", "in distribution", "shifted"
KIND_ORDER = {IN_DISTRIBUTION: 0, REFERENCE: 0, SHIFTED: 1}  # shifted rows last


def setting_label(setting) -> str:
    """("phantom", 8.0, "random") -> "phantom 8× random"."""
    source, acceleration, mask = setting
    return f"{source} {acceleration:g}× {mask}"


def _setting(row, columns):
    source, acceleration, mask = (row.get(c) for c in columns)
    acceleration = pd.to_numeric(acceleration, errors="coerce")
    if not isinstance(source, str) or not np.isfinite(acceleration):
        return None
    return (source, float(acceleration), str(mask))


def robustness_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per final point: solver, model, rep, dataset, test / train
    settings (tuples; train None for a reference), kind, psnr, ssim (NaN when
    the point diverged), psnr_in (the in-distribution PSNR of its model at
    its test setting and repetition, shifted rows only) and drop. Empty when
    the file has no setting columns (a run of an older benchmark)."""
    if not set(TEST) <= set(frame.columns):
        return pd.DataFrame()
    last = final_rows(frame)
    failed = diverged(last)
    trained = set(TRAIN) <= set(frame.columns)
    records = []
    for index, row in last.iterrows():
        test = _setting(row, TEST)
        if test is None:
            continue
        train = _setting(row, TRAIN) if trained else None
        kind = (REFERENCE if train is None else
                IN_DISTRIBUTION if train == test else SHIFTED)
        scores = {name: (float("nan") if failed[index] else
                         float(pd.to_numeric(row.get(m.column), errors="coerce")))
                  for name, m in (("psnr", PSNR), ("ssim", SSIM))}
        records.append(dict(solver=str(row["solver_name"]),
                            model=without(row["solver_name"], TRAINING_PARAMETERS),
                            rep=row["idx_rep"], dataset=row["dataset_name"],
                            test=test, train=train, kind=kind, **scores))
    rows = pd.DataFrame(records)
    if rows.empty:
        return rows
    inside = rows[rows["kind"] == IN_DISTRIBUTION]
    reference = inside.groupby(["model", "test", "rep"])["psnr"].mean()
    keys = list(zip(rows["model"], rows["test"], rows["rep"]))
    rows["psnr_in"] = [reference.get(k, np.nan) if kind == SHIFTED else np.nan
                       for k, kind in zip(keys, rows["kind"])]
    rows["drop"] = rows["psnr_in"] - rows["psnr"]
    return rows


def has_shifts(rows: pd.DataFrame) -> bool:
    return not rows.empty and (rows["kind"] == SHIFTED).any()


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over repetitions per (model, test, train, kind): psnr,
    ssim, drop (std NaN with one repetition); `reps` counts them."""
    keys = ["model", "test", "train", "kind"]
    frame = rows.assign(train=rows["train"].map(lambda t: t or ()))
    grouped = frame.groupby(keys, sort=False)[["psnr", "ssim", "drop"]]
    out = grouped.mean().join(grouped.std().add_suffix("_std"))
    out["reps"] = frame.groupby(keys, sort=False).size()
    return out.reset_index()


def solver_drops(rows: pd.DataFrame, dataset: str) -> dict[str, str]:
    """{solver: HTML cell} of the drop column of one setting's final table:
    the drop and the setting trained under for a shifted solver, "in
    distribution" or "no training" for the others; {} without a shift."""
    if not has_shifts(rows):
        return {}
    mine = rows[rows["dataset"] == dataset]
    if not (mine["kind"] == SHIFTED).any():
        return {}
    cells = {}
    for solver, part in mine.groupby("solver"):
        kind = part["kind"].iloc[0]
        if kind != SHIFTED:
            text = "in distribution" if kind == IN_DISTRIBUTION else "no training"
            cells[solver] = f'<span class="na">{text}</span>'
            continue
        trained = html.escape(setting_label(part["train"].iloc[0]))
        cells[solver] = (f"{_number(part['drop'])} "
                         f'<span class="std">trained {trained}</span>')
    return cells


def _number(values: pd.Series, spec: str = ".2f") -> str:
    """Mean (± std with several) of the finite values, as a cell."""
    values = values.astype(float)
    finite = values[np.isfinite(values)]
    return value_cell(finite.mean() if len(finite) else None,
                      finite.std() if len(finite) > 1 else None, spec)


def _cell(entries: pd.DataFrame) -> str:
    lines = []
    for _, e in entries.sort_values("kind", key=lambda k: k.map(KIND_ORDER)).iterrows():
        scores = (f"{value_cell(e['psnr'], e['psnr_std'], '.2f')} · "
                  f"{value_cell(e['ssim'], e['ssim_std'], '.3f')}")
        if e["kind"] == SHIFTED:
            note = (f"trained {html.escape(setting_label(e['train']))}, drop "
                    f"{value_cell(e['drop'], e['drop_std'], '.2f')} dB")
        else:
            note = "in distribution" if e["kind"] == IN_DISTRIBUTION else "no training"
        cls = ' class="shifted"' if e["kind"] == SHIFTED else ""
        lines.append(f"<div{cls}>{scores} <small>{note}</small></div>")
    return "".join(lines)


def matrix_html(summary: pd.DataFrame, labels: dict, colors: dict) -> str:
    """Models x test settings: PSNR · SSIM of each training, with the drop."""
    tests = sorted(summary["test"].unique(), key=lambda t: (t[0], t[1], t[2]))
    head = "".join(f"<th>{html.escape(setting_label(t))}</th>" for t in tests)
    body, missing = [], '<span class="na">—</span>'
    for model, part in summary.groupby("model", sort=True):
        swatch = (f'<span class="swatch" style="background:{colors[model]}"></span>')
        cells = "".join(f"<td>{_cell(part[part['test'] == t]) or missing}</td>"
                        for t in tests)
        body.append(f'<tr><th title="{html.escape(model)}">{swatch}'
                    f"{breakable(labels[model])}</th>{cells}</tr>")
    return ('<table class="final robustness"><thead><tr><th>solver (PSNR dB · SSIM)'
            f"</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def ranking(summary: pd.DataFrame) -> pd.DataFrame:
    """Learned models by their worst case (lowest mean PSNR over the settings
    they were trained and tested under), best first: model, worst, best,
    worst_at / best_at (the summary rows of those cases), drop (the largest),
    rank_best (their rank by best case). Empty without a learned model."""
    learned = summary[summary["kind"] != REFERENCE]
    learned = learned[np.isfinite(learned["psnr"].astype(float))]
    if learned.empty:
        return pd.DataFrame()
    rows = []
    for model, part in learned.groupby("model"):
        worst = part.loc[part["psnr"].idxmin()]
        best = part.loc[part["psnr"].idxmax()]
        drops = part["drop"].astype(float)
        rows.append(dict(model=model, worst=worst["psnr"], best=best["psnr"],
                         worst_at=worst, best_at=best,
                         drop=drops.max() if np.isfinite(drops).any() else np.nan))
    table = pd.DataFrame(rows).sort_values("worst", ascending=False)
    table["rank_best"] = table["best"].rank(ascending=False, method="min")
    return table


def ranking_html(summary: pd.DataFrame, labels: dict) -> str:
    """`ranking` as the dashboard's table."""
    table = ranking(summary)
    if table.empty:
        return ""
    body = "".join(
        f"<tr><td>{i}</td><td>{int(r['rank_best'])}</td>"
        f'<th title="{html.escape(r["model"])}">{breakable(labels[r["model"]])}</th>'
        f"<td>{r['worst']:.2f} <small>{html.escape(_pair(r['worst_at']))}</small></td>"
        f"<td>{r['best']:.2f} <small>{html.escape(_pair(r['best_at']))}</small></td>"
        f"<td>{value_cell(r['drop'], None, '.2f')}</td></tr>"
        for i, (_, r) in enumerate(table.iterrows(), start=1))
    return ('<table class="final ranking"><thead><tr><th>rank (worst)</th>'
            "<th>rank (best)</th><th>learned solver</th><th>worst case PSNR (dB)</th>"
            "<th>best case PSNR (dB)</th><th>largest drop (dB)</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _pair(entry) -> str:
    return (f"trained {setting_label(entry['train'])}, tested "
            f"{setting_label(entry['test'])}")


def robustness_figure(summary: pd.DataFrame, colors: dict, labels: dict):
    """PSNR and SSIM per test setting: each model's in-distribution point
    (filled circle), its shifted points (open diamonds, joined to the
    in-distribution point: the drop) and references (squares)."""
    tests = sorted(summary["test"].unique(), key=lambda t: (t[0], t[1], t[2]))
    models = sorted(summary["model"].unique())
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=[PSNR.label, SSIM.label])
    width = 0.7 / max(len(models), 1)
    symbols = {IN_DISTRIBUTION: "circle", SHIFTED: "diamond-open", REFERENCE: "square"}
    for m, model in enumerate(models):
        offset = (m - (len(models) - 1) / 2) * width
        part = summary[summary["model"] == model]
        for col, metric in enumerate(("psnr", "ssim"), start=1):
            for kind, entries in part.groupby("kind"):
                xs = [tests.index(t) + offset for t in entries["test"]]
                text = [f"{setting_label(t)}<br>"
                        + (f"trained {setting_label(tr)}" if tr else "no training")
                        for t, tr in zip(entries["test"], entries["train"])]
                fig.add_trace(go.Scatter(
                    x=xs, y=entries[metric].astype(float), mode="markers",
                    name=labels[model], legendgroup=model,
                    showlegend=bool(col == 1 and kind != SHIFTED),
                    marker=dict(symbol=symbols[kind], size=10, color=colors[model],
                                line=dict(width=2, color=colors[model])),
                    text=text, hovertemplate=(f"<b>{html.escape(labels[model])}"
                                              "</b><br>%{text}<br>%{y:.4g}"
                                              "<extra></extra>")), row=1, col=col)
            _drop_segments(fig, part, metric, tests, offset, colors[model], col)
    for col in (1, 2):
        fig.update_xaxes(tickmode="array", tickvals=list(range(len(tests))),
                         ticktext=[setting_label(t) for t in tests],
                         range=[-0.5, len(tests) - 0.5], title_text="tested under",
                         row=1, col=col)
    fig.update_layout(template="plotly_white", height=400, hovermode="closest",
                      margin=dict(l=60, r=20, t=40, b=60),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def _drop_segments(fig, part, metric, tests, offset, color, col):
    """Dotted segments from each in-distribution point to the shifted points
    of the same test setting."""
    xs, ys = [], []
    for test, entries in part.groupby("test"):
        inside = entries[entries["kind"] == IN_DISTRIBUTION][metric].astype(float)
        if inside.empty or not np.isfinite(inside.iloc[0]):
            continue
        for value in entries[entries["kind"] == SHIFTED][metric].astype(float):
            x = tests.index(test) + offset
            xs += [x, x, None]
            ys += [inside.iloc[0], value, None]
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", showlegend=False,
                                 hoverinfo="skip",
                                 line=dict(color=color, width=1, dash="dot")),
                      row=1, col=col)


def model_colors(rows: pd.DataFrame, colors: dict) -> dict[str, str]:
    """{model: the colour of its first solver (in-distribution first)}."""
    out = {}
    order = rows.sort_values("kind", key=lambda k: k.map(KIND_ORDER))
    for model, solver in zip(order["model"], order["solver"]):
        out.setdefault(model, colors.get(solver, "#444444"))
    return out


def robustness_section(rows: pd.DataFrame, colors: dict) -> tuple | None:
    """(figure, matrix html, ranking html) of a run with a shifted row,
    else None."""
    if not has_shifts(rows):
        return None
    summary = summarise(rows)
    labels = short_names(sorted(summary["model"].unique()))
    palette = model_colors(rows, colors)
    return (robustness_figure(summary, palette, labels),
            matrix_html(summary, labels, palette), ranking_html(summary, labels))
