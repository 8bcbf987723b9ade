"""Published runs: results/<name>/ and the index of all of them.

`publish(result_file, name)` copies the result file to results/<name>/, writes
its dashboard there (results/<name>/index.html) and a summary
(results/<name>/run.json), then rewrites results/index.html from every
results/*/run.json. The dashboards share one plotly.js in results/assets/, so
publishing a run adds its result file and a page, not another copy of the
script. Every file is written whole or not at all (files.py).

The copy keeps the saved reconstructions (`final_results`) of the first
repetition only: the gallery shows no other, and a run over several
repetitions would otherwise store each one's images (the metrics of every
repetition stay). `gallery=False` (publish --no-gallery) keeps none: for a
study of many solvers and settings, whose images would weigh tens of MB in
the repository; its figures, tables and views stay, and the run's config
re-makes the images.
"""

import datetime
import html
import json
import re
import shutil
from pathlib import Path

from .files import plotly_script, write_asset, write_file, write_text
from .html import build_report
from .read import load_run
from .table import best, final_table

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _summary(run, name: str, source: Path) -> dict:
    settings = []
    for group in run.groups:
        table = final_table(group, run.metrics)
        headline = run.metrics[0]
        winner = best(table[headline.column], headline.better)
        settings.append({
            "title": group.title, "dataset": group.subtitle,
            "solvers": list(map(str, table.index)),
            "metric": headline.label,
            "best_solver": None if winner is None else str(winner),
            "best_value": None if winner is None
            else float(table.loc[winner, headline.column]),
        })
    dates = sorted(map(str, run.frame.get("run_date", []).dropna().unique()))
    return {
        "name": name, "result_file": source.name,
        "run_date": dates[-1] if dates else None,
        "published": datetime.date.today().isoformat(),
        "solvers": sorted(map(str, run.colors)),
        "settings": settings, "problems": len(run.problems),
    }


def publish(result_file, name: str, results_dir="results", force: bool = False,
            gallery: bool = True):
    """Publish a result file as results_dir/<name>/; return the dashboard path
    (gallery: keep the first repetition's reconstructions, module doc)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"--name {name!r}: use letters, digits, '.', '_' or '-' "
                         "(it becomes a folder name and a URL).")
    source = Path(result_file)
    run = load_run(source)  # fails here, before results/ is touched
    results_dir = Path(results_dir)
    target = results_dir / name
    if target.exists():
        if not force:
            raise FileExistsError(f"{target} already exists: pick another --name "
                                  "or pass --force to replace it.")
        shutil.rmtree(target)
    assets = results_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    name_js, script_source = plotly_script()
    script = write_asset(assets / name_js, script_source)
    target.mkdir(parents=True)
    copied = _copy_shown_images(source, target / source.name, gallery)
    page = build_report(copied, target, plotly_js=f"../assets/{script.name}")
    summary = _summary(run, name, source)
    write_text(target / "run.json", json.dumps(summary, indent=2) + "\n")
    write_index(results_dir)
    return page


def _copy_shown_images(source: Path, path: Path, gallery: bool) -> Path:
    """Copy the result file (benchopt's reader and writer), the final_results
    of repetitions after the first set to None, and without `gallery` the
    first's emptied of their slices (module doc)."""
    from benchopt.results import read_results, to_parquet

    frame = read_results(source)
    if "final_results" in frame.columns and len(frame):
        first = frame["idx_rep"] == frame["idx_rep"].min()
        frame["final_results"] = [
            (cell if gallery else _without_slices(cell)) if keep else None
            for keep, cell in zip(first, frame["final_results"])]
    return write_file(path, lambda tmp: to_parquet(frame, tmp))


def _without_slices(cell):
    return dict(cell, slices=[]) if isinstance(cell, dict) else cell


def _setting(s: dict) -> str:
    text = html.escape(s["title"])
    if s.get("best_value") is not None:
        text += (f": best {html.escape(s['metric'])} {s['best_value']:.4g} "
                 f"({html.escape(str(s['best_solver']))})")
    return f"<li>{text}</li>"


def write_index(results_dir) -> Path:
    """results_dir/index.html: one row per published run (from its run.json)."""
    results_dir = Path(results_dir)
    runs = []
    for path in sorted(results_dir.glob("*/run.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as err:
            runs.append({"name": path.parent.name, "error": str(err)})
    runs.sort(key=lambda r: (r.get("run_date") or "", r["name"]), reverse=True)
    rows = []
    for r in runs:
        name = html.escape(r["name"])
        link = f'<a href="{name}/index.html">{name}</a>'
        if "error" in r:
            rows.append(f"<tr><td>{link}</td><td colspan=4>unreadable run.json: "
                        f"{html.escape(r['error'])}</td></tr>")
            continue
        settings = "".join(_setting(s) for s in r["settings"])
        rows.append(
            f"<tr><td>{link}</td><td>{html.escape(str(r.get('run_date') or ''))[:16]}"
            f"</td><td>{html.escape(', '.join(r['solvers']))}</td>"
            f"<td><ul>{settings}</ul></td><td>"
            f'<a href="{html.escape(r["name"])}/{html.escape(r["result_file"])}">'
            f"{html.escape(r['result_file'])}</a></td></tr>")
    body = "".join(rows) or '<tr><td colspan=5>No published run yet.</td></tr>'
    return write_text(results_dir / "index.html", f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>benchmark_mri — published runs</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;color:#1d2430}}
table{{border-collapse:collapse;font-size:14px}}
td,th{{border-bottom:1px solid #e3e6eb;padding:6px 12px;text-align:left;
  vertical-align:top}}
th{{background:#eef1f5}} ul{{margin:0;padding-left:18px}}</style></head><body>
<h1>benchmark_mri — published runs</h1>
<p>Each run: its benchopt result file and its dashboard (opens offline).
Regenerated by <code>benchmark-mri publish RESULT_FILE --name NAME</code>.</p>
<table><thead><tr><th>run</th><th>date</th><th>solvers</th><th>settings</th>
<th>result file</th></tr></thead><tbody>{body}</tbody></table>
</body></html>
""")
