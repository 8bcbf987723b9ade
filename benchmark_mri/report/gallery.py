"""Image gallery of one dataset / setting: targets, reconstructions, error maps.

From the slices each solver saved (benchmark_mri/results.py): for each slice,
the target and every solver's reconstruction in grey on [0, target volume
max], and below each reconstruction |recon - target| on one colour scale
shared by all solvers of that slice (0 to the 99.5th percentile of all their
errors), with PSNR / SSIM of the slice in the caption. Solvers that report a
per-pixel posterior standard deviation (a "std" map in their saved slices:
posterior samplers, solvers/score_posterior.py) get it in a third row, under
their |error| map and on the same colour scale, so that a calibrated
posterior shows a std about half its error (|error| <= 2 std). When the
saved slices carry their Cartesian mask (benchmark_mri/results.py), a last
row shows each solver's mask as k-space columns (white: sampled), with its
name, whose it is (the dataset's or the solver's) and the fraction of
columns sampled. Images are PNG data
URIs (no extra files), decoded lazily by the browser. Slices are added while
one more would keep the setting's images within `budget` bytes (always at
least one), which keeps a page with many solvers and settings small enough to
open and share (html.py).
"""

import base64
import html
import io

import numpy as np
from PIL import Image

from ..results import read_final_results
from .groups import Group, by_solver_mask, final_rows, saved_mask_name

MAX_SLICES = 2  # per dataset / setting; the page stays small with many solvers


def _colormap(name: str = "Inferno") -> np.ndarray:
    """(256, 3) uint8 lookup table interpolated from a plotly colour scale."""
    import plotly.colors

    scale = [plotly.colors.hex_to_rgb(c) if c.startswith("#")
             else plotly.colors.unlabel_rgb(c)
             for c in getattr(plotly.colors.sequential, name)]
    scale = np.asarray(scale, dtype=float)
    t = np.linspace(0, 1, len(scale))
    grid = np.linspace(0, 1, 256)
    return np.stack([np.interp(grid, t, scale[:, k]) for k in range(3)],
                    -1).round().astype(np.uint8)


def png_uri(image: np.ndarray, vmax: float, lut: np.ndarray | None = None) -> str:
    """A (h, w) float image on [0, vmax] as a PNG data URI (grey, or lut colours)."""
    scaled = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
    scaled = np.clip(scaled / max(vmax, 1e-12), 0, 1) * 255
    pixels = Image.fromarray(scaled.round().astype(np.uint8), mode="L")
    if lut is not None:
        pixels = pixels.convert("P")
        pixels.putpalette(lut.reshape(-1).tolist())
    buffer = io.BytesIO()
    pixels.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def collect(group: Group, max_slices: int = MAX_SLICES):
    """{(volume, slice): {"target": array, "solvers": {solver: slice dict}}}."""
    last = final_rows(group.frame)
    if "final_results" not in last.columns:
        return {}
    last = last[last["idx_rep"] == last["idx_rep"].min()]
    found = {}
    for _, row in last.sort_values("solver_name").iterrows():
        slices, _, _ = read_final_results(row["final_results"])
        mask_name = _mask_name(row)
        for s in slices:
            s = {**s, "mask_name": mask_name}
            key = (s["volume"], int(s["slice"]))
            if key not in found and len(found) >= max_slices:
                continue
            entry = found.setdefault(key, {"target": s["target"], "solvers": {}})
            entry["solvers"][row["solver_name"]] = s
    return found


def _mask_name(row) -> str:
    """'random (dataset)', 'learned (solver)': the row's mask and whose it is."""
    name = saved_mask_name(row) or row.get("p_dataset_mask_type")
    if not isinstance(name, str):
        return "mask"
    return f"{name} ({'solver' if by_solver_mask(row) else 'dataset'})"


def mask_image(columns) -> np.ndarray:
    """(rows, W) float image of a (W,) column mask: sampled columns 1, the
    others 0, about a quarter as tall as wide."""
    columns = np.asarray(columns, dtype=np.float32).reshape(1, -1)
    return np.repeat(columns, max(8, columns.shape[1] // 4), axis=0)


def _mask_tile(s: dict, solver, color) -> str:
    if "mask" not in s:
        return '<div class="tile spacer"></div>'
    columns = np.asarray(s["mask"])
    caption = (f"mask · {html.escape(s.get('mask_name', 'mask'))} · "
               f"{int(columns.sum())}/{columns.size} columns "
               f"({100 * columns.mean():.1f}%)")
    return _figure(png_uri(mask_image(columns), 1.0), caption, color,
                   f"{solver} sampling mask")


def _score(value, spec: str) -> str:
    return format(value, spec) if np.isfinite(value) else "n/a"


def _figure(uri, caption, color=None, alt="", title=""):
    border = f' style="border-color:{color}"' if color else ""
    hover = f' title="{html.escape(title)}"' if title else ""
    return (f'<figure class="tile"{border}{hover}><img src="{uri}" '
            f'alt="{html.escape(alt)}" loading="lazy" decoding="async">'
            f"<figcaption>{caption}</figcaption></figure>")


def _unscored_html(volume, index, entry, colors, labels) -> str:
    """A slice without reference: the reconstructions alone, each scaled to
    its own maximum, no scores, no error maps."""
    recons = [_figure(png_uri(s["recon"], 1.0),
                      f"<b>{html.escape(labels.get(solver, str(solver)))}</b>",
                      colors[solver], f"{solver} reconstruction", str(solver))
              for solver, s in entry["solvers"].items()]
    note = ('<figure class="tile"><figcaption><b>no reference</b><br>acquired '
            "undersampled: shown, not scored; each image scaled to its own "
            "maximum</figcaption></figure>")
    return (f'<div class="slice"><h4>{html.escape(str(volume))}, slice {index}</h4>'
            f'<div class="row">{note}{"".join(recons)}</div></div>')


def _std_tile(s: dict, name: str, solver, color, vmax: float, lut) -> str:
    """The posterior std map of a slice on the error's scale, or an empty
    tile for a solver without one."""
    if "std" not in s:
        return '<div class="tile spacer"></div>'
    std = np.asarray(s["std"], np.float32)
    return _figure(png_uri(std, vmax, lut), f"posterior std · {name}", color,
                   f"{solver} posterior std")


def gallery_html(group: Group, colors: dict, max_slices: int = MAX_SLICES,
                 budget: float = float("inf"), labels: dict | None = None) -> str:
    """The gallery (module doc); captions name solvers by their short labels
    (names.short_names, the final table's), the full name on hover."""
    labels = labels or {}
    slices = collect(group, max_slices)
    if not slices:
        return '<p class="missing">No saved reconstructions for this dataset.</p>'
    size = 0
    lut = _colormap()
    colorbar = np.tile(np.linspace(0, 1, 128, dtype=np.float32), (8, 1))
    parts = []
    for n_shown, ((volume, index), entry) in enumerate(slices.items()):
        if n_shown and size * (n_shown + 1) / n_shown > budget:  # one more slice
            parts.append(f'<p class="note">{len(slices) - n_shown} more saved '
                         "slice(s) left out to keep the page small "
                         "(benchmark-mri report --gallery-slices).</p>")
            break
        if entry["target"] is None:
            parts.append(_unscored_html(volume, index, entry, colors, labels))
            size += len(parts[-1])
            continue
        target = np.asarray(entry["target"], dtype=np.float32)
        errors = {solver: np.abs(np.asarray(s["recon"], np.float32) - target)
                  for solver, s in entry["solvers"].items()}
        finite = [e[np.isfinite(e)] for e in errors.values()]
        finite = np.concatenate(finite) if finite else np.zeros(1)
        vmax_err = float(np.percentile(finite, 99.5)) if finite.size else 1.0
        vmax_err = vmax_err if vmax_err > 0 else 1.0
        recons, maps, stds, masks = [], [], [], []
        for solver, s in entry["solvers"].items():
            name = html.escape(labels.get(solver, str(solver)))
            caption = (f"<b>{name}</b><br>PSNR {_score(s['psnr'], '.2f')} dB · "
                       f"SSIM {_score(s['ssim'], '.3f')}")
            recons.append(_figure(png_uri(s["recon"], 1.0), caption, colors[solver],
                                  f"{solver} reconstruction", str(solver)))
            maps.append(_figure(png_uri(errors[solver], vmax_err, lut),
                                f"|error| · {name}", colors[solver], f"{solver} error",
                                str(solver)))
            stds.append(_std_tile(s, name, solver, colors[solver], vmax_err, lut))
            masks.append(_mask_tile(s, solver, colors[solver]))
        target_tile = _figure(png_uri(target, 1.0), "<b>target</b>", alt="target")
        scale = (f'<div class="colorbar"><img src="{png_uri(colorbar, 1.0, lut)}" '
                 f'alt="error colour scale"><span>0</span><span>'
                 f"{100 * vmax_err:.1f}% of the target's max</span></div>")
        parts.append(
            f'<div class="slice"><h4>{html.escape(str(volume))}, slice {index}</h4>'
            f'<div class="row">{target_tile}{"".join(recons)}</div>'
            f'<div class="row"><div class="tile spacer">{scale}</div>'
            f'{"".join(maps)}</div>'
            + (f'<div class="row"><div class="tile spacer"></div>{"".join(stds)}</div>'
               if any("std" in s for s in entry["solvers"].values()) else "")
            + (f'<div class="row"><div class="tile spacer"></div>{"".join(masks)}'
               "</div>" if any("mask" in s for s in entry["solvers"].values())
               else "")
            + "</div>")
        size += len(parts[-1])
    return "".join(parts)
