"""One colour per solver, the same in every figure and table of a page."""

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a",
           "#637939", "#e7ba52", "#7b4173", "#3182bd", "#31a354", "#e6550d")


def solver_colors(solvers) -> dict[str, str]:
    """{solver name: "#rrggbb"}, assigned in sorted name order (cycling past
    len(PALETTE) solvers)."""
    names = sorted(map(str, solvers))
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
