"""Memory-efficient training of unrolled networks, on the phantom, CPU, paired by seed.

    PYTHONPATH=$PWD python benchmarks/memory_training.py  # docs/memory-training.md
    PYTHONPATH=$PWD python benchmarks/memory_training.py --seeds 0 --epochs 1
    PYTHONPATH=$PWD python benchmarks/memory_training.py --help

Four comparisons (docs/memory-training.md puts them next to the papers' figures):
1. XPDNet at one depth (--depth): end_to_end vs checkpoint vs greedy (GLEAM,
   M = 2, 3): saved_tensors_mb ratio, time per epoch ratio, PSNR difference to
   end_to_end;
2. a fixed memory budget, the end-to-end saved_tensors_mb of a shallow XPDNet
   (--budget-depth iterations): the deepest XPDNet (up to --max-depth) each
   strategy fits (greedy: modules of --budget-depth iterations), and its PSNR;
3. greedy vs checkpoint at that budget and the same depth: training time ratio;
4. the layer-wise CNN vs the same network trained end-to-end: PSNR / SSIM gap,
   and the largest batch whose training step fits a budget (the end-to-end
   step's saved tensors at --batch-budget slices).

Seed s changes the phantoms, their masks, the initial weights and the batch
order, the same for every configuration: differences within a seed are paired.
Memory is `saved_tensors_mb` (benchmark_mri.learned.memory; deterministic, the
tensors saved for one step's backward, weights a convolution saves included)
and `activations_mb`, the same without the weights (every strategy holds all
weights; at fastMRI sizes activations dominate, on a 32-pixel phantom weights
are a large share): the budgets of parts 2 and 4 are activation budgets. The
peak resident memory of a CPU process is too noisy to compare them. The first
training of each seed is preceded by an untimed warm-up epoch. Times
are wall-clock on a shared CPU: only ratios within one seed are meaningful.
Every (seed, configuration) row goes to <out>_runs.csv; the summary is printed.
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from benchmark_mri.data import phantom_split
from benchmark_mri.learned import (
    LearnedRun,
    Training,
    TrainSettings,
    build_model,
    default_step,
    get_loss,
    make_batch,
    model_config,
    reconstruct,
    saved_tensors_mb,
)
from benchmark_mri.learned.data import with_acs_smaps
from benchmark_mri.learned.xpdnet import greedy_step
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--n-coils", type=int, default=4)
    p.add_argument("--n-train", type=int, default=4, help="training volumes")
    p.add_argument("--n-test", type=int, default=2, help="test volumes")
    p.add_argument("--n-slices", type=int, default=4)
    p.add_argument("--epochs", type=int, default=4, help="XPDNet epochs")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--depth", type=int, default=6, help="part 1's n_iter")
    p.add_argument("--budget-depth", type=int, default=2)
    p.add_argument("--max-depth", type=int, default=6)
    p.add_argument("--blocks", type=int, default=4, help="layer-wise blocks")
    p.add_argument("--epochs-per-block", type=int, default=2)
    p.add_argument("--batch-budget", type=int, default=4)
    p.add_argument("--parts", default="1,2,3,4")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/memory_training")
    return p.parse_args()


def splits(args, seed):
    return phantom_split(args.n_train, args.n_test, seed,
                         CartesianSampling("random", 4), image_size=args.image_size,
                         n_coils=args.n_coils, n_slices=args.n_slices)


def xpdnet(n_iter, training="end_to_end", modules=2):
    return model_config("xpdnet", n_iter=n_iter, training=training,
                        greedy_modules=modules)


def _step_fn(config):
    return greedy_step if getattr(config, "training", "") == "greedy" else default_step


def zero_filled(data):
    """PSNR / SSIM of the SENSE adjoint with ACS maps (the learned models'
    input, what an untrained XPDNet returns)."""
    _, test, targets = data
    model = build_model(xpdnet(1)).eval()
    recons = [reconstruct(model, m) for m in with_acs_smaps(test)]
    scores = evaluate_volumes(targets, recons)
    return dict(psnr=float(np.mean(scores["psnr"])),
                ssim=float(np.mean(scores["ssim"])))


def train_and_score(name, config, data, seed, epochs, lr, loss="l1", batch_size=1):
    """Train config on the seed's split (LearnedRun, no cache); its row."""
    train, test, targets = data
    step_fn = _step_fn(config)
    settings = TrainSettings(n_epochs=epochs, lr=lr, batch_size=batch_size, loss=loss,
                             seed=seed)
    run = LearnedRun(Training(name, config, train, settings, device="cpu",
                              step_fn=step_fn, log=lambda *a: None), test)
    run.run(lambda: True)
    result = run.result()
    scores = evaluate_volumes(targets, result["recon"])
    return dict(saved_tensors_mb=result["saved_tensors_mb"],
                activations_mb=step_memory(config, data, batch_size),
                time_per_epoch_s=result["train_time_per_epoch_s"],
                psnr=float(np.mean(scores["psnr"])),
                ssim=float(np.mean(scores["ssim"])))


def step_memory(config, data, batch_size=1, model=None):
    """Activation MB of one training step of config (or of `model`, built from
    config when None) on the first slices of the training split:
    saved_tensors_mb without the weights (which every strategy holds)."""
    m = with_acs_smaps(data[0])[0]
    s = slice(0, batch_size)
    if m.y.shape[0] < batch_size:  # more slices than a volume: repeat them
        reps = -(-batch_size // m.y.shape[0])
        y, mask, smaps, target = (t.repeat(reps, *[1] * (t.dim() - 1))[s]
                                  for t in (m.y, m.mask, m.smaps, m.target))
    else:
        y, mask, smaps, target = m.y[s], m.mask[s], m.smaps[s], m.target[s]
    batch = make_batch(y, mask, smaps, target)
    torch.manual_seed(0)
    model = (build_model(config) if model is None else model).train()
    step = _step_fn(config)
    return saved_tensors_mb(lambda: step(model, batch, get_loss("l1")),
                            exclude=list(model.parameters()))


MARGIN = 1.05  # "fits": within 5 % of the budget (a greedy module also keeps
# its detached input buffer, which end-to-end shares with the adjoint image)


def deepest(data, budget, max_depth, make):
    """The largest n_iter <= max_depth whose step fits `budget` MB (or 0)."""
    fits = [d for d in range(1, max_depth + 1)
            if make(d) is not None and step_memory(make(d), data) <= MARGIN * budget]
    return max(fits, default=0)


def largest_batch(config, data, budget, model=None, limit=64):
    """The largest batch (<= limit) whose step's saved tensors fit `budget`.
    Saved tensors are linear in the batch: measured at 1 and 2, extrapolated,
    then checked."""
    def memory(b):
        return step_memory(config, data, b, model)

    m1, m2 = memory(1), memory(2)
    per_slice, fixed = m2 - m1, 2 * m1 - m2
    b = int(min(limit, max(1, (budget - fixed) // per_slice)))
    while b > 1 and memory(b) > budget:
        b -= 1
    while b < limit and memory(b + 1) <= budget:
        b += 1
    return b


def part1(args, data, seed):
    rows = {}
    for training, modules in (("end_to_end", 2), ("checkpoint", 2), ("greedy", 2),
                              ("greedy", 3)):
        label = training + (f"_M{modules}" if training == "greedy" else "")
        rows[label] = train_and_score("xpdnet", xpdnet(args.depth, training, modules),
                                      data, seed, args.epochs, args.lr)
    return rows


def part2(args, data, seed):
    budget = step_memory(xpdnet(args.budget_depth), data)
    k = args.budget_depth
    makers = {
        "end_to_end": lambda d: xpdnet(d),
        "checkpoint": lambda d: xpdnet(d, "checkpoint"),
        "greedy": lambda d: xpdnet(d, "greedy", d // k) if d % k == 0 else None,
    }
    rows = {}
    for label, make in makers.items():
        depth = deepest(data, budget, args.max_depth, make)
        row = train_and_score("xpdnet", make(depth), data, seed, args.epochs, args.lr)
        rows[label] = dict(row, depth=depth, budget_mb=budget)
    return rows


def part4(args, data, seed):
    rows = {}
    for end_to_end in (False, True):
        config = model_config("layerwise", n_blocks=args.blocks,
                              epochs_per_block=args.epochs_per_block,
                              end_to_end=end_to_end)
        label = "layerwise_end_to_end" if end_to_end else "layerwise"
        rows[label] = train_and_score("layerwise", config, data, seed,
                                      config.n_epochs, 1e-3, loss="l2")
    e2e = model_config("layerwise", n_blocks=args.blocks, end_to_end=True)
    budget = step_memory(e2e, data, args.batch_budget)
    for label, end_to_end in (("layerwise", False), ("layerwise_end_to_end", True)):
        config = model_config("layerwise", n_blocks=args.blocks, end_to_end=end_to_end)
        model = build_model(config)
        model.stage.fill_(args.blocks - 1)  # the deepest stage of layer-wise training
        rows[label]["largest_batch"] = largest_batch(config, data, budget, model)
        rows[label]["batch_budget_mb"] = budget
    return rows


def summarise(rows, part, reference, keys):
    """Mean and std over seeds of each configuration's values and of its paired
    ratios / differences to `reference`."""
    lines = []
    labels = list(dict.fromkeys(r["config"] for r in rows if r["part"] == part))
    for label in labels:
        mine = {r["seed"]: r for r in rows
                if r["part"] == part and r["config"] == label}
        ref = {r["seed"]: r for r in rows if r["part"] == part
               and r["config"] == reference}
        seeds = sorted(set(mine) & set(ref))
        text = [f"  {label:22s}"]
        for key in keys:
            v = np.array([float(mine[s][key]) for s in seeds])
            text.append(f"{key} {v.mean():.3f} ± {v.std():.3f}")
        if label != reference and seeds:
            for key, kind in (("saved_tensors_mb", "ratio"),
                              ("activations_mb", "ratio"),
                              ("time_per_epoch_s", "ratio"), ("psnr", "diff"),
                              ("ssim", "diff")):
                a = np.array([float(mine[s][key]) for s in seeds])
                b = np.array([float(ref[s][key]) for s in seeds])
                d = a / b if kind == "ratio" else a - b
                text.append(f"{key} {'x' if kind == 'ratio' else 'Δ'} "
                            f"{d.mean():.3f} ± {d.std():.3f}")
        lines.append("; ".join(text))
    return lines


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)  # tiny convolutions: threads only contend
    parts = {int(p) for p in args.parts.split(",")}
    rows = []
    out = Path(f"{args.out}_runs.csv")
    for seed in map(int, args.seeds.split(",")):
        data = splits(args, seed)
        start = time.perf_counter()
        train_and_score("xpdnet", xpdnet(2), data, seed, 1, args.lr)  # warm-up
        row = zero_filled(data)
        rows.append(dict(part=0, seed=seed, config="zero_filled", **row))
        print(f"seed {seed} zero-filled (SENSE adjoint, ACS maps): {row}", flush=True)
        for part, fn in ((1, part1), (2, part2), (4, part4)):
            if part in parts or (part == 2 and 3 in parts):
                for label, row in fn(args, data, seed).items():
                    rows.append(dict(part=part, seed=seed, config=label, **row))
                    print(f"seed {seed} part {part} {label}: {row}", flush=True)
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
        fields = sorted({k for r in rows for k in r})
        with out.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    print(f"\nmean ± std over seeds {args.seeds} (ratios / differences paired by seed)")
    keys = ("saved_tensors_mb", "activations_mb", "time_per_epoch_s", "psnr", "ssim")
    zf = np.array([r["psnr"] for r in rows if r["part"] == 0])
    print(f"0. zero-filled PSNR {zf.mean():.3f} ± {zf.std():.3f}")
    if 1 in parts:
        print(f"1. XPDNet, n_iter={args.depth}, vs end_to_end:")
        print("\n".join(summarise(rows, 1, "end_to_end", keys)))
    if parts & {2, 3}:
        print(f"2./3. budget = end-to-end activations at n_iter={args.budget_depth}; "
              f"deepest fitting XPDNet (max {args.max_depth}), vs end_to_end:")
        print("\n".join(summarise(rows, 2, "end_to_end", ("depth", *keys))))
    if 4 in parts:
        print(f"4. layer-wise vs end-to-end, {args.blocks} blocks "
              f"(largest batch within the end-to-end step at {args.batch_budget}):")
        print("\n".join(summarise(rows, 4, "layerwise_end_to_end",
                                  ("largest_batch", *keys))))


if __name__ == "__main__":
    main()
