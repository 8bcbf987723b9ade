"""Result dashboards from benchopt's result files (offline HTML, no network).

What a run saves (reconstructions for the gallery, provenance) and the names
the report shares with the objective live in benchmark_mri/results.py. Here,
one responsibility per module:
- read.py: reading a result file into a Run (`load_run`, `ReportInputError`);
- shards.py: the shards of a sharded run merged into whole-split rows;
- problems.py: what a readable file lacks, in words; which metrics it has;
- groups.py: rows grouped by dataset setting; the last point of each curve;
- names.py: parsing benchopt's solver names; short display labels;
- palette.py: one colour per solver;
- inner_iterations.py: which final rows form a line of the test-time view;
- figures.py: plotly curves (metrics vs time / iterations, test-time iterations);
- table.py: the final table (mean and spread over volumes, best per column);
- gallery.py: targets, reconstructions and error maps as PNG images;
- html.py: the page, with assets/report.css, assets/report.js and plotly.js
  inlined (or plotly.js shipped beside it);
- publish.py: results/<name>/ and results/index.html;
- browser.py: headless Chromium checks of a page (tests, benchmarks).

This package imports neither benchopt nor plotly at import time.
"""


def build_report(*args, **kwargs):
    """See benchmark_mri.report.html.build_report."""
    from .html import build_report as _build

    return _build(*args, **kwargs)
