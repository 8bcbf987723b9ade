"""Train the DEQ with each backward mode on the phantom, same budget, over seeds.

    PYTHONPATH=$PWD python benchmarks/deq_backward.py --seeds 0,1,2  # docs/deq.md
    PYTHONPATH=$PWD python benchmarks/deq_backward.py --summary-only  # from the CSV
    PYTHONPATH=$PWD python benchmarks/deq_backward.py --help

A mode is a backward mode of benchmark_mri.learned.deq (ift, shine,
shine_fallback, shine_refine, jfb), optionally with the adjoint solve's
tolerance: "ift:1e-3" is ift with backward_tol 1e-3 (default 1e-6), or with
SHINE's outer-problem awareness: "shine+opa2" is shine with opa_every=2 (an
adjoint Broyden update towards the loss gradient every 2nd forward iteration).

Seed s changes everything random, for every mode alike: the training and test
phantoms and their masks (phantom seed s), the initial weights and the batch
order (TrainSettings.seed s). Within a seed every mode starts from the same
weights and sees the same batches, so per-seed differences between modes are
paired. Seed 0 is the single-seed run of earlier versions.

For each (seed, mode), one row is appended to <out>_runs.csv as soon as it is
trained (rows of the same (seed, mode) are replaced, so runs can be split
across invocations, e.g. a new mode added later): backward_time_s (mean seconds
per step from the start of the DEQ's backward to the last parameter gradient),
implicit_backward_time_s (the direction alone), forward_time_s (the forward
fixed-point solve, where shine_opa spends its extra products),
train_time_s, iterations, test PSNR / SSIM (fastMRI's metrics) after training.
Then <out>_train.csv gets one row per mode over the seeds: mean and std, the
per-seed backward speed-up over each reference ift (--references) and the
paired per-seed PSNR difference to it (mean, std). <out>_sweep.csv: a
test-time sweep of the forward iteration limit (--sweep), tol --sweep-tol.
Timings on a shared CPU are noisy: only ratios taken within one seed (one
process, modes one after the other) are meaningful.
"""

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from benchmark_mri.classical import zero_filled
from benchmark_mri.data import phantom_split
from benchmark_mri.learned import Trainer, TrainSettings, reconstruct
from benchmark_mri.learned.deq import BACKWARD_MODES, DEQConfig, DEQRecon
from benchmark_mri.learned.deq.model import DEQConvergenceWarning
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling

DEFAULT_MODES = ("ift", "ift:1e-4", "ift:1e-3", "shine", "shine_fallback",
                 "shine_refine", "jfb", "shine+opa2", "shine+opa5")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--modes", default=",".join(DEFAULT_MODES),
                   help=f"comma-separated, from {BACKWARD_MODES}, with 'ift:TOL' "
                   "and 'MODE+opaN' allowed")
    p.add_argument("--seeds", default="0", help="comma-separated seeds")
    p.add_argument("--references", default="ift,ift:1e-4,ift:1e-3",
                   help="modes to report speed-ups and PSNR differences against")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--n-coils", type=int, default=4)
    p.add_argument("--n-train", type=int, default=8, help="training volumes")
    p.add_argument("--n-test", type=int, default=2, help="test volumes")
    p.add_argument("--n-slices", type=int, default=4)
    p.add_argument("--acceleration", type=int, default=4)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--forward-max-iter", type=int, default=20)
    p.add_argument("--forward-tol", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--sweep", default="1,2,5,10,20,40,80",
                   help="test-time forward iteration limits ('' for none)")
    p.add_argument("--sweep-tol", type=float, default=1e-6)
    p.add_argument("--out", default="results/deq_backward")
    p.add_argument("--summary-only", action="store_true",
                   help="train nothing: summarise <out>_runs.csv")
    return p.parse_args()


def parse_mode(spec):
    """'ift:1e-3' -> ('ift', {'backward_tol': 1e-3}); 'shine+opa2' ->
    ('shine', {'opa_every': 2})."""
    rest, _, opa = spec.partition("+opa")
    mode, _, tol = rest.partition(":")
    if mode not in BACKWARD_MODES:
        raise SystemExit(f"--modes: unknown mode {mode!r} in {spec!r}; use one "
                         f"of {BACKWARD_MODES}, optionally 'ift:TOL' or "
                         "'MODE+opaN'.")
    extra = {"backward_tol": float(tol)} if tol else {}
    if opa:
        extra["opa_every"] = int(opa)
    return mode, extra


def splits(args, seed):
    return phantom_split(args.n_train, args.n_test, seed,
                         CartesianSampling("random", args.acceleration),
                         image_size=args.image_size, n_coils=args.n_coils,
                         n_slices=args.n_slices)


def scores(targets, recons):
    s = evaluate_volumes(targets, recons)
    return float(np.mean(s["psnr"])), float(np.mean(s["ssim"]))


def evaluate(model, test, targets, n_iter=None, tol=None):
    model.eval()
    model.reset_measurements()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DEQConvergenceWarning)
        options = {} if tol is None else {"tol": tol}
        recons = [reconstruct(model, m, n_iter=n_iter, **options) for m in test]
    iters = np.mean([s["forward_iterations"] for s in model.solve_log])
    unconverged = np.mean([not s["forward_converged"] for s in model.solve_log])
    return (*scores(targets, recons), float(iters), float(unconverged))


def history_mean(model, key):
    return float(np.mean([h.get(key, 0.0) for h in model.history]))


def train_one(spec, seed, args, train, test, targets):
    from benchmark_mri.learned.deq import deq_step

    mode, extra = parse_mode(spec)
    config = DEQConfig(channels=args.channels, backward=mode,
                       forward_max_iter=args.forward_max_iter,
                       forward_tol=args.forward_tol, **extra)
    settings = TrainSettings(n_epochs=args.epochs, lr=args.lr,
                             batch_size=args.batch_size, seed=seed)
    torch.manual_seed(settings.seed)  # the same initial weights for every mode
    model = DEQRecon(config)
    trainer = Trainer(model, train, settings, step_fn=deq_step)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DEQConvergenceWarning)
        for _ in range(settings.n_epochs):
            loss = trainer.epoch()
    train_time = time.perf_counter() - start
    summary = model.training_summary()
    for key in ("backward_iterations", "fallback_fraction", "forward_time_s",
                "opa_products"):
        summary[key] = history_mean(model, key)
    psnr, ssim, iters, _ = evaluate(model, test, targets)
    row = dict(seed=seed, mode=spec, backward_tol=config.backward_tol,
               train_time_s=train_time, train_loss=loss,
               steps=len(model.history), **summary,
               train_unconverged_warnings=len(caught),
               test_psnr=psnr, test_ssim=ssim, test_forward_iterations=iters)
    sweep = []
    for n_iter in [int(n) for n in args.sweep.split(",") if n]:
        psnr, ssim, iters, unconverged = evaluate(model, test, targets, n_iter,
                                                  args.sweep_tol)
        sweep.append(dict(seed=seed, mode=spec,
                          train_forward_max_iter=args.forward_max_iter,
                          test_iterations=n_iter, test_tol=args.sweep_tol,
                          psnr=psnr, ssim=ssim, forward_iterations=iters,
                          forward_unconverged=unconverged))
    return row, sweep


def read_csv(path):
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            if k != "mode":
                try:
                    r[k] = float(v)
                except ValueError:
                    pass
        r["seed"] = int(r["seed"])
    return rows


def write_csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(rows)


def upsert(path, new_rows, keys):
    """Replace the rows of `path` that share `keys` with new_rows', append."""
    new_ids = {tuple(r[k] for k in keys) for r in new_rows}
    rows = [r for r in read_csv(path) if tuple(r[k] for k in keys) not in new_ids]
    write_csv(path, rows + new_rows)


def mean_std(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summarise(runs, references):
    """One row per mode over the seeds it was run with."""
    by = {(r["mode"], r["seed"]): r for r in runs}
    modes = list(dict.fromkeys(r["mode"] for r in runs))
    table = []
    for mode in modes:
        seeds = sorted(s for m, s in by if m == mode)
        rows = [by[mode, s] for s in seeds]
        out = dict(mode=mode, n_seeds=len(seeds),
                   seeds=" ".join(str(s) for s in seeds))
        for key in ("backward_time_s", "implicit_backward_time_s",
                    "forward_time_s", "train_time_s", "train_forward_iterations",
                    "backward_iterations", "opa_products", "fallback_fraction",
                    "test_psnr", "test_ssim"):
            if all(key in r and r[key] != "" for r in rows):
                out[key], out[key + "_std"] = mean_std([r[key] for r in rows])
        for ref in references:
            paired = [s for s in seeds if (ref, s) in by]
            if not paired:
                continue
            speedup = [by[ref, s]["backward_time_s"] / by[mode, s]["backward_time_s"]
                       for s in paired]
            step = [(by[ref, s]["forward_time_s"] + by[ref, s]["backward_time_s"])
                    / (by[mode, s]["forward_time_s"] + by[mode, s]["backward_time_s"])
                    for s in paired if by[mode, s].get("forward_time_s", "") != ""
                    and by[ref, s].get("forward_time_s", "") != ""]
            diff = [by[mode, s]["test_psnr"] - by[ref, s]["test_psnr"] for s in paired]
            out[f"backward_speedup_vs_{ref}"], out[f"backward_speedup_vs_{ref}_std"] = (
                mean_std(speedup))
            if step:
                out[f"step_speedup_vs_{ref}"], out[f"step_speedup_vs_{ref}_std"] = (
                    mean_std(step))
            out[f"psnr_diff_vs_{ref}"], out[f"psnr_diff_vs_{ref}_std"] = mean_std(diff)
            out[f"paired_seeds_vs_{ref}"] = len(paired)
        table.append(out)
    return table


def pm(row, key, fmt):
    if key not in row:
        return "n/a"
    return f"{row[key]:{fmt}} ± {row[key + '_std']:{fmt}}"


def print_table(table, references):
    refs = [r for r in references if any(f"psnr_diff_vs_{r}" in t for t in table)]
    head = ("| backward | seeds | backward s/step | "
            + " | ".join(f"backward speed-up vs {r}" for r in refs)
            + (f" | step speed-up vs {refs[0]}" if refs else "")
            + " | forward s/step | forward iters | backward products | OPA updates"
            " | training s | test PSNR dB | "
            + " | ".join(f"ΔPSNR vs {r} dB" for r in refs) + " | test SSIM |")
    print("\n" + head)
    print("|" + "---|" * (head.count("|") - 1))
    for t in table:
        cells = [t["mode"], str(t["n_seeds"]), pm(t, "backward_time_s", ".4f")]
        cells += [pm(t, f"backward_speedup_vs_{r}", ".1f") for r in refs]
        if refs:
            cells += [pm(t, f"step_speedup_vs_{refs[0]}", ".2f")]
        cells += [pm(t, "forward_time_s", ".4f"),
                  pm(t, "train_forward_iterations", ".1f"),
                  pm(t, "backward_iterations", ".1f"), pm(t, "opa_products", ".1f"),
                  pm(t, "train_time_s", ".0f"), pm(t, "test_psnr", ".2f")]
        cells += [pm(t, f"psnr_diff_vs_{r}", "+.2f") for r in refs]
        cells += [pm(t, "test_ssim", ".4f")]
        print("| " + " | ".join(cells) + " |")


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    runs_path = out.with_name(out.name + "_runs.csv")
    references = [r for r in args.references.split(",") if r]
    if not args.summary_only:
        specs = args.modes.split(",")
        for spec in specs:
            parse_mode(spec)
        for seed in [int(s) for s in args.seeds.split(",")]:
            train, test, targets = splits(args, seed)
            zf_psnr, zf_ssim = scores(targets, [zero_filled(m) for m in test])
            upsert(runs_path, [dict(seed=seed, mode="zero-filled", test_psnr=zf_psnr,
                                    test_ssim=zf_ssim)], ("seed", "mode"))
            print(f"seed {seed}: zero-filled PSNR {zf_psnr:.2f} dB, SSIM "
                  f"{zf_ssim:.4f}", flush=True)
            for spec in specs:
                row, sweep = train_one(spec, seed, args, train, test, targets)
                upsert(runs_path, [row], ("seed", "mode"))
                if sweep:
                    upsert(out.with_name(out.name + "_sweep.csv"), sweep,
                           ("seed", "mode", "test_iterations"))
                print({k: round(v, 4) if isinstance(v, float) else v
                       for k, v in row.items()}, flush=True)
    runs = read_csv(runs_path)
    trained = [r for r in runs if r["mode"] != "zero-filled"]
    table = summarise(trained, references)
    zf = summarise([r for r in runs if r["mode"] == "zero-filled"], [])
    print_table(table + zf, references)
    write_csv(out.with_name(out.name + "_train.csv"), table + zf)
    print(f"\nwritten: {runs_path}, {out}_train.csv, {out}_sweep.csv")


if __name__ == "__main__":
    main()
