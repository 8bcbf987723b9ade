"""The dashboard page: one HTML file, no network.

`build_report(result_file, out_dir)` writes out_dir/index.html. Figures are
plotly JSON, drawn by plotly.js when they come near the screen; plotly.js is
inlined in the page (plotly_js="inline": one file to send around), written
beside it (plotly_js="alongside": out_dir/plotly-<version>.min.js), or an
existing file at a relative URL (publish.py shares one copy between published
runs). Images are PNG data URIs. The page's style (assets/report.css) and
figure loader (assets/report.js) are read when a page is rendered and inlined
in it. When the figures of the first screen are drawn the loader sets
`document.body.dataset.ready = "1"`; `window.reportDrawAll()` draws the others
(a promise) and `window.reportStatus` counts them (for tests). Files are
written whole or not at all (files.py).
"""

import datetime
import html
import platform
import shlex
from pathlib import Path

import plotly

from ..results import read_final_results
from .figures import curves, inner_iterations_figure, memory_figure, samples_figure
from .files import asset_text, plotly_script, write_asset, write_text
from .gallery import MAX_SLICES, gallery_html
from .read import Run, load_run
from .robustness import robustness_rows, robustness_section, solver_drops
from .sampling import (
    comparable_settings,
    fractions_table,
    sampling_figure,
    sampling_points,
)
from .table import overview_html, table_html

# Gallery images of a page, in bytes of HTML: with plotly.js (1.2 MB) and the
# figures, a page stays well under 20 MB however many solvers and settings.
GALLERY_BUDGET = 10e6

def _figure_block(fig, ident: str) -> str:
    spec = plotly.io.to_json(fig, validate=False).replace("</", "<\\/")
    return (f'<div class="figure" id="{ident}"></div>'
            f'<script type="application/json" class="figure-spec" '
            f'data-target="{ident}">{spec}</script>')


def _group_section(run: Run, index: int, group, max_slices: int, shifts) -> str:
    ident = f"d{index}"
    labels = run.labels
    drops = solver_drops(shifts, group.key[1])
    parts = [f'<section class="dataset" id="{ident}">',
             f"<h2>{html.escape(group.title)}</h2>",
             f'<p class="sub">{html.escape(group.subtitle)}</p>',
             "<h3>Final results</h3>",
             table_html(group, run.metrics, run.colors, labels, drops),
             "<h3>Metrics versus time <small>(solver time, log scale; training "
             "time for learned solvers)</small></h3>",
             _figure_block(curves(group, run.metrics, run.colors, "time", labels),
                           f"{ident}-time"),
             "<h3>Metrics versus iterations / epochs <small>(benchopt's "
             "stop_val: iterations of classical solvers, epochs of learned ones, "
             "each on its own axis)</small></h3>",
             _figure_block(curves(group, run.metrics, run.colors, "stop_val", labels),
                           f"{ident}-iter")]
    fig = memory_figure(group, run.metrics, run.colors, labels)
    if fig is not None:
        parts += ["<h3>PSNR versus training memory <small>(final points, one per "
                  "solver configuration; left: tensors saved for one training "
                  "step's backward, deterministic; right: peak training memory, "
                  "on a CPU the whole process)</small></h3>",
                  _figure_block(fig, f"{ident}-mem")]
    fig = inner_iterations_figure(group, run.metrics, run.colors)
    if fig is not None:
        parts += ["<h3>Test-time inner iterations <small>(final metrics; "
                  "star: the count used in training)</small></h3>",
                  _figure_block(fig, f"{ident}-tt")]
    fig = samples_figure(group, run.metrics, run.colors, labels)
    if fig is not None:
        parts += ["<h3>Posterior samples <small>(test-time cost of posterior "
                  "samplers: metrics of the running posterior mean, and the "
                  "coverage of its error by 2 posterior std, against the samples "
                  "drawn per slice)</small></h3>",
                  _figure_block(fig, f"{ident}-samples")]
    budget = GALLERY_BUDGET / len(run.groups)
    parts += ["<h3>Reconstructions and error maps</h3>",
              gallery_html(group, run.colors, max_slices, budget, labels),
              "</section>"]
    return "".join(parts)


def _robustness_section(shifts, colors) -> str:
    """The run's robustness view (report/robustness.py), or "" without a
    shifted row."""
    found = robustness_section(shifts, colors)
    if found is None:
        return ""
    fig, matrix, ranking = found
    return ('<section class="dataset" id="robustness"><h2>Robustness to unseen '
            "settings</h2>"
            '<p class="note">Learned solvers trained under one setting (source, '
            "acceleration, mask type) and tested under another, beside the same "
            "model trained under the test's setting (in distribution) and classical "
            "solvers, which need no training (so no drop by construction). Drop: "
            "the in-distribution PSNR minus the shifted one, per repetition, "
            "averaged (± the standard deviation over repetitions).</p>"
            "<h3>PSNR and SSIM per test setting <small>(filled: in distribution; "
            "open diamonds: trained under another setting, dotted: the drop; "
            "squares: no training)</small></h3>"
            + _figure_block(fig, "robustness-fig")
            + "<h3>Trained under, tested under</h3>"
            + f'<div class="scroll">{matrix}</div>'
            + ("<h3>Learned solvers by their worst and best case</h3>" + ranking
               if ranking else "")
            + "</section>")


def _sampling_section(run: Run) -> str:
    """The sampling view (sampling.py), or "" when no reconstructor has two
    masks at one acceleration."""
    points = sampling_points(run.frame, run.labels)
    settings = comparable_settings(points)
    if not settings:
        return ""
    parts = ['<section class="dataset" id="sampling"><h2>Sampling: metrics '
             "against the mask, at equal budget</h2>"
             '<p class="sub">For each reconstructor, the final PSNR / SSIM with '
             "each mask at one acceleration (the same budget of columns): the "
             "dataset's masks (random, equispaced, gaussian) and those a solver "
             "chose (loupe's learned mask, trained with the reconstructor it "
             "names). Mean over repetitions; the hover gives the sampled "
             "fraction.</p>"]
    for n, setting in enumerate(settings):
        table = fractions_table(points, setting)
        cells = "".join(
            f"<tr><td>{html.escape(str(mask))}</td><td>{row['mean']:.4f}</td>"
            f"<td>{row['min']:.4f} – {row['max']:.4f}</td></tr>"
            for mask, row in table.iterrows())
        parts += [f"<h3>{html.escape(setting)}</h3>",
                  _figure_block(sampling_figure(points, setting, run.colors),
                                f"sampling-{n}"),
                  '<table class="final"><thead><tr><th>mask</th><th>sampled '
                  "fraction (mean over rows)</th><th>range</th></tr></thead>"
                  f"<tbody>{cells}</tbody></table>"]
    return "".join(parts) + "</section>"


def solver_records(frame) -> dict[str, dict]:
    """{solver name: its text records (e.g. pretrained_sha256)}, from the
    provenance of the saved results (benchmark_mri/results.py)."""
    records = {}
    if "final_results" not in frame.columns:
        return records
    for solver, cell in zip(frame["solver_name"], frame["final_results"]):
        provenance = read_final_results(cell)[1]
        if provenance.get("solver"):
            records.setdefault(str(solver), dict(provenance["solver"]))
    return records


def metadata(run: Run) -> dict[str, str]:
    """What the page says about the run: command, commit, versions, machine."""
    frame, prov = run.frame, run.provenance

    def unique(column):
        if column not in frame.columns:
            return None
        values = [str(v) for v in frame[column].dropna().unique()]
        return ", ".join(values) or None

    command = prov.get("command")
    if not command:
        datasets = " ".join(f"-d {shlex.quote(str(d))}"
                            for d in frame["dataset_name"].unique())
        solvers = " ".join(f"-s {shlex.quote(str(s))}"
                           for s in frame["solver_name"].unique())
        command = (f"not recorded; an equivalent run: benchopt run . {datasets} "
                   f"{solvers}")
    versions = dict(prov.get("versions", {}))
    for column in frame.columns:
        if column.startswith("version-") and unique(column):
            versions.setdefault(column.removeprefix("version-"), unique(column))
    machine = [unique(c) for c in ("platform", "platform-release", "system-processor")]
    if unique("system-cpus"):
        machine.append(f"{unique('system-cpus')} CPUs")
    if unique("system-ram (GB)"):
        machine.append(f"{unique('system-ram (GB)')} GB RAM")
    machine += [f"GPU {v}" for k, v in prov.get("machine", {}).items() if k == "gpu"]
    env = {c.removeprefix("env-"): unique(c) for c in frame.columns
           if c.startswith("env-") and unique(c)}
    meta = {
        "result file": f"{run.path.name} ({len(frame)} rows)",
        "run date": unique("run_date"),
        "command": command,
        "git commit": prov.get("git_commit") or unique("benchmark-git-tag")
        or "not recorded",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()) or None,
        "machine": ", ".join(m for m in machine if m) or None,
        "environment": ", ".join(f"{k}={v}" for k, v in env.items()) or None,
        "pretrained weights": "; ".join(
            f"{run.label(solver)}: {name} {value}"
            for solver, records in solver_records(frame).items()
            for name, value in records.items() if name.endswith("sha256")) or None,
        "report": f"benchmark-mri report, {datetime.datetime.now():%Y-%m-%d %H:%M}, "
                  f"{plotly_script()[0]}, python {platform.python_version()}",
    }
    return {k: v for k, v in meta.items() if v}


def _plotly_tag(out_dir: Path, plotly_js: str) -> str:
    if plotly_js == "inline":
        return f"<script>{plotly_script()[1]}</script>"
    if plotly_js == "alongside":
        name, source = plotly_script()
        write_asset(out_dir / name, source)
        return f'<script src="{name}"></script>'
    if not (out_dir / plotly_js).is_file():
        raise FileNotFoundError(
            f"plotly_js={plotly_js!r}: no such file next to {out_dir}/index.html.")
    return f'<script src="{html.escape(plotly_js)}"></script>'


def render(run: Run, out_dir: Path, plotly_js: str = "alongside",
           max_slices: int = MAX_SLICES) -> str:
    """The page's HTML text (writes plotly.js beside it when asked to)."""
    groups = run.groups
    shifts = robustness_rows(run.frame)
    robustness = _robustness_section(shifts, run.colors)
    nav = " ".join(f'<a href="#d{i}">{html.escape(g.title)}</a>'
                   for i, g in enumerate(groups))
    sampling = _sampling_section(run)
    if sampling:
        nav = '<a href="#sampling">sampling</a> ' + nav
    if robustness:
        nav = '<a href="#robustness">robustness</a> ' + nav
    problems = ""
    if run.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in run.problems)
        problems = (f'<div class="problems" id="problems"><h3>What is missing '
                    f"({len(run.problems)})</h3><ul>{items}</ul></div>")
    sections = robustness + sampling + "".join(
        _group_section(run, i, g, max_slices, shifts)
        for i, g in enumerate(groups))
    if len(groups) > 1:
        sections = ('<section class="dataset" id="overview"><h2>Overview</h2>'
                    + overview_html(groups, run.metrics, run.colors, run.labels)
                    + "</section>" + sections)
    meta = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
                   for k, v in metadata(run).items())
    solvers = len(run.colors)
    title = f"benchmark_mri — {run.path.stem}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{asset_text("report.css")}</style>
{_plotly_tag(out_dir, plotly_js)}
</head><body>
<header><h1>{html.escape(title)}</h1>
<p>MRI reconstruction benchmark · {len(groups)} dataset setting(s) · {solvers} solver(s)
 · generated from {html.escape(run.path.name)}</p></header>
<main>
<p id="nojs" class="missing" style="display:none">plotly.js could not be loaded:
the figures are missing (open the page from its folder).</p>
<nav>{nav} <a href="#metadata">run metadata</a></nav>
{problems}
{sections}
<section class="dataset" id="metadata"><h2>Run metadata</h2><dl class="meta">{meta}</dl>
</section>
</main>
<script>{asset_text("report.js")}</script>
</body></html>
"""


def build_report(result_file, out_dir, plotly_js: str = "alongside",
                 max_slices: int = MAX_SLICES) -> Path:
    """Write out_dir/index.html for a benchopt result file; return its path.

    Raises read.ReportInputError when the file cannot be read at all.
    """
    run = load_run(result_file)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_text(out_dir / "index.html",
                      render(run, out_dir, plotly_js, max_slices))


__all__ = ["build_report", "metadata", "plotly_script", "render"]
