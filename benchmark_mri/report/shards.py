"""The shards of a sharded run, merged back into whole-split results.

A fastMRI dataset's `shard="i/n"` parameter keeps the i-th of n contiguous
groups of the test volumes (benchmark_mri/data/fastmri_splits.py), so that
`-d "fastmri_knee[shard=['0/3','1/3','2/3']]"` scores one split in n benchopt
tasks. Their rows differ only by the dataset's shard (`p_dataset_shard`, and
`shard=i/n` in `dataset_name`). `merge_shards` replaces the rows of all shards
of one configuration (objective, dataset without its shard, solver,
repetition) by the rows of the whole split, named without the shard:

- Volume metrics (`objective_<m>` with an `objective_<m>_std`: PSNR, SSIM,
  NMSE): the mean over every scored volume, sum(n_i mean_i) / N, and the
  population std, sqrt(sum(n_i (std_i^2 + (mean_i - mean)^2)) / N) (equal to
  sqrt(sum(n_i (std_i^2 + mean_i^2)) / N - mean^2), computed without its
  cancellation), with n_i = `objective_n_scored`: the whole split's mean and
  np.std. A shard with no scored volume or NaN metrics adds nothing.
  `objective_n_scored` is N, `objective_value` the merged NMSE.
- Divergence flags (results.DIVERGED_COLUMNS): the largest; a merged point
  with a diverged shard is diverged, its metrics NaN. `stopped_by_timeout`
  (results.STOPPED_BY_TIMEOUT): the largest, a shard cut by the timeout
  makes the merged run cut.
- `objective_inference_time_s` and `objective_sampled_fraction` (per slice):
  weighted by the shards' slice counts (`objective_n_slices`, when the file
  has them) else by n_scored.
  Training measurements (TRAINING): those of the shard that trained
  (`objective_reused_checkpoint` 0), else the first shard's;
  `objective_reused_checkpoint`: the smallest. Other numeric objective_*
  columns: the mean over shards.
- `time`: the slowest shard's, the wall-clock time of the shards run in
  parallel (a sequential run of them takes their sum).
- Curves: points are matched by their x-axis, `objective_train_epochs` for a
  learned solver, `stop_val` (iterations) otherwise. An iterative shard that
  stopped earlier counts with its last point at later iterations (it has
  converged). A learned solver's shards that reused the trained checkpoint
  have only the final point: a point is merged only where every shard has
  one, so the epochs only the training shard evaluated are left out.
- `final_results` (the gallery): the first shard's, on the merged last point
  (shard 0 holds the split's first volumes, those an unsharded run saves).

Rows without a shard, or of shard "0/1", are left as they are. A missing
shard, a malformed shard ("x", "3/2"), shards of different counts n in one
configuration (left unmerged) and a shard without any finite metric are
said in the returned sentences, which the dashboard lists (read.load_run).
"""

import numpy as np
import pandas as pd

from ..results import (
    DIVERGED_COLUMNS,
    KNOWN_METRICS,
    NOT_METRICS,
    STOPPED_BY_TIMEOUT,
    result_column,
)
from .names import split_name, without

SHARD = "shard"  # the datasets' parameter
SHARD_COLUMN = f"p_dataset_{SHARD}"
N_SCORED = result_column("n_scored")
N_SLICES = result_column("n_slices")  # per-shard slice counts, when recorded
EPOCHS = result_column("train_epochs")
REUSED = result_column("reused_checkpoint")
PER_SLICE = (result_column("inference_time_s"), result_column("sampled_fraction"))
TRAINING = tuple(result_column(name) for name in (
    "train_time_s", "train_time_per_epoch_s", "train_peak_memory_mb",
    "saved_tensors_mb", "train_loss", "train_epochs", "train_iterations"))
_KEY = ("objective_name", "_base", "solver_name")  # one configuration


def shard_of(row_shard, dataset_name) -> str | None:
    """The shard of a row as written: its `p_dataset_shard`, else the
    `shard=` parameter of its dataset name; None without one, or for a row
    merge_shards wrote (its `p_dataset_shard` lists the merged shards,
    "0/3,1/3,2/3", and its name has no shard): merging twice changes nothing."""
    if isinstance(row_shard, str) and row_shard.strip():
        if "," in row_shard:
            return None
        return row_shard.strip().strip("'\"")
    value = dict(split_name(dataset_name)[1]).get(SHARD)
    return None if value is None else value.strip("'\"")


def parse_shard(shard: str) -> tuple[int, int] | None:
    """(i, n) of "i/n" with 0 <= i < n, or None when malformed."""
    try:
        i, n = (int(part) for part in str(shard).split("/"))
    except ValueError:
        return None
    return (i, n) if 0 <= i < n else None


def merge_shards(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """(frame, sentences): the frame with the rows of every sharded
    configuration replaced by whole-split rows, and what the dashboard says
    about it (module doc). Unsharded frames come back as they are."""
    if frame.empty:
        return frame, []
    names = frame["dataset_name"].astype(str)
    column = (frame[SHARD_COLUMN] if SHARD_COLUMN in frame.columns
              else [None] * len(frame))
    shards = pd.Series([shard_of(s, d) for s, d in zip(column, names)],
                       index=frame.index, dtype=object)
    parsed = shards.map(lambda s: None if s is None else parse_shard(s))
    sharded = shards.notna() & ~parsed.map(lambda p: p is not None and p[1] == 1)
    if not sharded.any():
        return frame, []

    work = frame[sharded].assign(
        _base=names[sharded].map(lambda d: without(d, {SHARD})),
        _shard=shards[sharded], _parsed=parsed[sharded])
    for name, default in (("objective_name", "objective"), ("idx_rep", 0)):
        if name not in work.columns:
            work[name] = default
    problems, keep, merged = [], [], []
    malformed = work["_parsed"].isna()
    for (_, base), rows in work[malformed].groupby(
            ["objective_name", "_base"], sort=False):
        bad = ", ".join(sorted(map(repr, set(rows["_shard"]))))
        problems.append(
            f"{base}: shard {bad} is not \"i/n\" with 0 <= i < n (for "
            f"{', '.join(sorted(set(map(str, rows['solver_name']))))}): these "
            "rows are shown unmerged, under their own dataset name.")
        keep.append(rows.index)
    good = work[~malformed]
    good = good.assign(_i=good["_parsed"].map(lambda p: p[0]),
                       _n=good["_parsed"].map(lambda p: p[1]))
    missing, reuse_notes, summary = {}, {}, {}
    for key, rows in good.groupby(list(_KEY), sort=False):
        counts = sorted(set(rows["_n"]))
        if len(counts) > 1:
            problems.append(
                f"{key[1]}: {key[2]} has shards of different counts "
                f"({', '.join(sorted(set(rows['_shard'])))}): they cannot be "
                "merged into one split; these rows are shown unmerged.")
            keep.append(rows.index)
            continue
        n = counts[0]
        for _, curve in rows.groupby("idx_rep", sort=False):
            points, info = _merge_curve(curve, n)
            merged.append(points)
            covered = info["covered"]
            lost = tuple(sorted(set(range(n)) - set(covered)))
            if lost:
                missing.setdefault((key[0], key[1], n, lost, info["absent"]),
                                   []).append(key[2])
            if info["dropped"] and info["learned"]:
                reuse_notes.setdefault(key[2], info)
            summary.setdefault((key[0], key[1]), (n, set()))[1].update(
                info["present"])

    sentences = problems + [_missing_sentence(k, solvers)
                            for k, solvers in missing.items()]
    sentences += [_reuse_sentence(solver, info) for solver, info in
                  reuse_notes.items()]
    sentences += [_summary_sentence(base, n, present)
                  for (_, base), (n, present) in summary.items()]
    if N_SCORED not in frame.columns:
        sentences.append(
            f"The file has no {N_SCORED} column: the merged metrics weight every "
            "shard equally, which equals the whole split's only for shards of "
            "equal size.")
    unchanged = frame[~sharded]
    kept = [frame.loc[index] for index in keep]
    out = pd.concat([unchanged, *kept, *merged], ignore_index=True)
    return out[list(frame.columns)], sentences


def _volume_metrics(columns) -> list[str]:
    found = [m.column for m in KNOWN_METRICS if m.column in columns]
    found += [c for c in columns if c.startswith("objective_") and c + "_std" in columns
              and c not in found and c not in NOT_METRICS]
    return found


def _numbers(rows: list[pd.Series], column: str) -> np.ndarray:
    return np.array([pd.to_numeric(r.get(column), errors="coerce") for r in rows],
                    dtype=float)


def _is_learned(curve: pd.DataFrame) -> bool:
    return EPOCHS in curve.columns and bool(
        np.isfinite(pd.to_numeric(curve[EPOCHS], errors="coerce")).any())


def _keys(rows: pd.DataFrame, x: str) -> list[tuple[float, int]]:
    """(x, k): the x value of each row and its rank among the rows of one x
    (a diverged learned point repeats its last epoch)."""
    xs = pd.to_numeric(rows[x], errors="coerce").astype(float).fillna(-np.inf)
    ranks = xs.groupby(xs).cumcount()
    return list(zip(xs.tolist(), ranks.tolist()))


def _merge_curve(curve: pd.DataFrame, n: int) -> tuple[pd.DataFrame, dict]:
    """The merged rows of one configuration and repetition, and what the
    sentences need: present, covered and absent shards, dropped points."""
    learned = _is_learned(curve)
    x = EPOCHS if learned else "stop_val"
    by_shard = {}
    for i, rows in curve.groupby("_i", sort=True):
        rows = rows.sort_values(["stop_val", "time"], kind="stable")
        by_shard[int(i)] = dict(zip(_keys(rows, x), (r for _, r in rows.iterrows())))
    present = sorted(by_shard)
    every = sorted(set().union(*by_shard.values()))
    points, dropped = [], []
    for key in every:
        rows = {}
        for i in present:
            own = by_shard[i]
            if key in own:
                rows[i] = own[key]
            elif not learned and key > max(own):  # stopped earlier: converged
                rows[i] = own[max(own)]
        if len(rows) < len(present):
            dropped.append(key[0])
            continue
        points.append(rows)
    metrics = _volume_metrics(curve.columns)
    out = [_merge_point(rows, metrics, n) for rows in points]
    absent = tuple(i for i in present if not _scored_anywhere(by_shard[i], metrics))
    if out:
        out[-1]["final_results"] = _first_final(by_shard, present)
    frame = pd.DataFrame(out, columns=curve.columns) if out else curve.iloc[:0]
    reused = [i for i in present if REUSED in curve.columns and
              (_numbers(list(by_shard[i].values()), REUSED) == 1).any()]
    return frame, dict(present=present, absent=absent, dropped=dropped,
                       covered=[i for i in present if i not in absent],
                       reused=reused, n=n, base=curve["_base"].iloc[0],
                       kept=[_x(p) for p in points], learned=learned)


def _x(rows: dict) -> float:
    return float(pd.to_numeric(next(iter(rows.values())).get(EPOCHS),
                               errors="coerce"))


def _scored_anywhere(rows: dict, metrics: list[str]) -> bool:
    """True when a shard has a finite metric or diverged at some point (a
    diverged shard is accounted for: the merged point is diverged)."""
    rows = list(rows.values())
    if _diverged(rows).any():
        return True
    return any(np.isfinite(_numbers(rows, m)).any() for m in metrics) or not metrics


def _diverged(rows: list[pd.Series]) -> np.ndarray:
    flags = np.zeros(len(rows), dtype=bool)
    for column in DIVERGED_COLUMNS:
        flags |= _numbers(rows, column) == 1
    return flags


def _first_final(by_shard: dict, present: list[int]):
    for i in present:
        last = by_shard[i][max(by_shard[i])]
        value = last.get("final_results")
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            return value
    return None


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & np.isfinite(weights)
    if not ok.any():
        return float("nan")
    if weights[ok].sum() <= 0:
        return float(values[ok].mean())
    return float(np.average(values[ok], weights=weights[ok]))


def _merge_point(rows: dict, metrics: list[str], n: int) -> dict:
    """One merged row from the matched rows {shard: row} (module doc)."""
    shards = sorted(rows)
    series = [rows[i] for i in shards]
    first = series[0]
    out = first.to_dict()
    reused = _numbers(series, REUSED)
    trained = next((r for r, flag in zip(series, reused) if flag == 0), first)
    columns = list(first.index)
    out["dataset_name"] = first["_base"]
    if SHARD_COLUMN in out:
        out[SHARD_COLUMN] = ",".join(f"{i}/{n}" for i in shards)
    out["time"] = float(np.nanmax(_numbers(series, "time")))
    # The matched x: the shards' own (a learned shard that reused the
    # checkpoint has its one point at stop_val 0; one that stopped earlier,
    # its last iteration).
    out["stop_val"] = max(r["stop_val"] for r in series)
    counts = (_numbers(series, N_SCORED) if N_SCORED in columns
              else np.ones(len(series)))
    counts = np.where(np.isfinite(counts), counts, 0.0)
    done = set(metrics) | {f"{m}_std" for m in metrics} | {N_SCORED}
    contributing = np.zeros(len(series), dtype=bool)
    for metric in metrics:
        means = _numbers(series, metric)
        ok = (counts > 0) & np.isfinite(means)
        contributing |= ok
        total = counts[ok].sum()
        mean = float((counts[ok] * means[ok]).sum() / total) if total else np.nan
        out[metric] = mean
        std_column = f"{metric}_std"
        if std_column in columns:
            stds = _numbers(series, std_column)[ok]
            var = ((counts[ok] * (stds**2 + (means[ok] - mean) ** 2)).sum() / total
                   if total else np.nan)
            out[std_column] = float(np.sqrt(max(var, 0.0))) if np.isfinite(var) \
                else float("nan")
    if N_SCORED in columns:
        out[N_SCORED] = float(counts[contributing].sum())
    flagged = False
    for column in DIVERGED_COLUMNS:
        if column in columns:
            flags = _numbers(series, column)
            out[column] = float(np.nanmax(flags)) if np.isfinite(flags).any() \
                else np.nan
            flagged |= out[column] == 1
            done.add(column)
    if STOPPED_BY_TIMEOUT in columns:
        flags = _numbers(series, STOPPED_BY_TIMEOUT)
        out[STOPPED_BY_TIMEOUT] = (float(np.nanmax(flags)) if np.isfinite(flags).any()
                                   else np.nan)
    if "objective_value" in columns:
        nmse = result_column("nmse")
        out["objective_value"] = (out[nmse] if nmse in metrics
                                  else float(np.nanmean(_numbers(series,
                                                                 "objective_value"))))
        done.add("objective_value")
    if flagged:
        for column in done & {*metrics, *(f"{m}_std" for m in metrics),
                              "objective_value"}:
            if column in out:
                out[column] = float("nan")
    slices = _numbers(series, N_SLICES) if N_SLICES in columns else None
    weights = slices if slices is not None and np.isfinite(slices).all() else counts
    for column in columns:
        if column in done or not column.startswith("objective_") \
                or column in NOT_METRICS:
            continue
        values = _numbers(series, column)
        if not pd.api.types.is_number(first.get(column)) and not np.isfinite(
                values).any():
            continue  # text: the first shard's
        if column in PER_SLICE:
            out[column] = _weighted_mean(values, weights)
        elif column in TRAINING:
            out[column] = trained.get(column)
        elif column == REUSED:
            out[column] = float(np.nanmin(values)) if np.isfinite(values).any() \
                else np.nan
        elif column == N_SLICES:
            out[column] = float(np.nansum(values))
        else:
            out[column] = (float(np.nanmean(values)) if np.isfinite(values).any()
                           else np.nan)
    out["final_results"] = None
    return out


def _shard_list(shards, n) -> str:
    return ", ".join(f"{i}/{n}" for i in shards)


def _missing_sentence(key, solvers) -> str:
    _, base, n, lost, absent = key
    gone = [i for i in lost if i not in absent]
    parts = []
    if gone:
        parts.append(f"shard{'s' * (len(gone) > 1)} {_shard_list(gone, n)} "
                     f"{'are' if len(gone) > 1 else 'is'} missing")
    if absent:
        parts.append(f"shard{'s' * (len(absent) > 1)} {_shard_list(absent, n)} "
                     "scored no volume (no finite metric)")
    who = ", ".join(sorted(set(solvers)))
    their = "their" if len(set(solvers)) > 1 else "its"
    return (f"{base}: {' and '.join(parts)} for {who}; {their} figures cover "
            f"{n - len(lost)} of {n} shards.")


def _reuse_sentence(solver: str, info: dict) -> str:
    n, present, reused = info["n"], info["present"], info["reused"]
    trainers = [i for i in present if i not in reused]
    who = (f"shard{'s' * (len(reused) > 1)} {_shard_list(reused, n)} reused the "
           f"checkpoint{' of shard ' + _shard_list(trainers, n) if trainers else ''}"
           " and evaluated only the trained model" if reused else
           "its shards evaluated different epochs")
    kept = ", ".join(f"{x:g}" for x in info["kept"] if np.isfinite(x)) or "none"
    return (f"{solver} on {info['base']}: {who}; its merged curves keep only the "
            f"epochs every shard evaluated ({kept}), "
            f"{len(info['dropped'])} other point(s) are left out.")


def _summary_sentence(base: str, n: int, present: set) -> str:
    return (f"{base}: merged from shards {_shard_list(sorted(present), n)} of {n}: "
            "metrics over the scored volumes of every shard; time is the slowest "
            "shard's (as if the shards ran in parallel); the gallery shows the "
            "first shard's saved slices.")
