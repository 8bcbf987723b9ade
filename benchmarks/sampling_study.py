"""Masks at equal budget: U-Net and XPDNet with random, equispaced, gaussian and
learned (LOUPE) masks, on the phantom and on the real scanner slices, by seed.

    PYTHONPATH=$PWD python benchmarks/sampling_study.py         # docs/sampling.md
    PYTHONPATH=$PWD python benchmarks/sampling_study.py --masks lowpass \
        --out benchmarks/sampling_study_lowpass.csv
    PYTHONPATH=$PWD python benchmarks/sampling_study.py --summarize \
        benchmarks/sampling_study.csv benchmarks/sampling_study_lowpass.csv
    PYTHONPATH=$PWD python benchmarks/sampling_study.py --seeds 0 --epochs 2
    PYTHONPATH=$PWD python benchmarks/sampling_study.py --help

For each seed, acceleration and network: the network trained on the
phantom's training split (the dataset's defaults: 8 volumes of 4 slices,
128 x 128, 8 coils) measured with each fixed mask, for --epochs epochs;
LOUPE (learned/loupe.py) trained with the same network on the same volumes,
fully sampled, for --epochs minus --finetune epochs, its mask then fixed and
the network fine-tuned --finetune epochs: every configuration trains the
same number of epochs, and every mask samples the same budget, ceil(W / R)
columns (random ones about W / R on average; the sampled fractions are
printed); with --masks lowpass, the network trained and tested with the
budget as one fixed centre block (ceil(W / R) columns around the centre:
what the learned masks turn out to be, a control for them). Each trained
model is scored, with fastMRI's metrics, on
- the phantom's test split (2 volumes of 4 slices) and
- the real multi-coil scanner slices of ../shared/data/fastmri_format
  (8-channel brain, two 4-channel brains), their central 128 x 128 k-space
  (the image at a lower resolution, the width the masks were learned for),
  target the RSS of that k-space: the networks and the learned masks come
  from the phantom, as nothing here trains on real data;
each test split measured by the objective's Acquisition (data/acquisition.py)
with the dataset's mask or with the learned one (a ProposedMask checked
against the budget). Seed s changes the phantoms, the weights' initialisation,
the batch order and LOUPE's draws; the fixed masks are seeded per volume and
slice as in a benchopt run. Every (seed, acceleration, network, mask, data)
row goes to --out (CSV) and the learned masks and probabilities to
<out>_masks.json; the summary (mean and std over seeds, the learned mask
against the best fixed one, paired by seed, and the sampling density against
the distance to the centre column) is printed.
"""

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmark_mri.data import phantom_volumes
from benchmark_mri.data.acquisition import Acquisition, ProposedMask
from benchmark_mri.data.coil_maps import CoilMaps
from benchmark_mri.data.fastmri_splits import folder_split
from benchmark_mri.data.split import Split, make_split
from benchmark_mri.data.types import Volume
from benchmark_mri.learned import LearnedRun, Training, TrainSettings, model_config
from benchmark_mri.learned.loupe import FullySampled, loupe_step, widths
from benchmark_mri.learned.loupe_run import LoupeRun
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling, ifft2c, rss

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "fastmri_format"
FIXED = ("random", "equispaced", "gaussian")
LR = {"unet": 1e-3, "xpdnet": 2e-3}  # the solvers' defaults


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--accelerations", type=int, nargs="+", default=[4, 8])
    p.add_argument("--networks", nargs="+", default=["unet", "xpdnet"])
    p.add_argument("--epochs", type=int, default=8, help="every configuration's")
    p.add_argument("--finetune", type=int, default=2, help="LOUPE's share of them")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "sampling_study.csv"))
    p.add_argument("--checkpoints", default=None, help="a checkpoint cache folder")
    p.add_argument("--summarize", nargs="+", default=None, metavar="CSV",
                   help="print the summary of earlier runs' CSV files (their "
                   "_masks.json beside them) and stop")
    p.add_argument("--masks", nargs="+", default=[*FIXED, "learned"],
                   help=f"of {FIXED}, 'learned' (LOUPE) and 'lowpass' (a fixed "
                   "centre block of ceil(W / R) columns: what the learned masks "
                   "look like)")
    return p.parse_args()


def real_slices(size: int) -> list[Volume]:
    """The multi-coil real slices, their central size x size k-space, target
    the RSS of its inverse FFT."""
    if not REAL.is_dir():
        print(f"{REAL} is absent: the real slices are left out.")
        return []
    volumes = []
    for ref in folder_split(str(REAL), "auto", 0, None, None)["test"]:
        k = ref.read().kspace  # (1, C, H, W)
        if k.shape[1] == 1:
            continue  # the single-coil slice: the networks learned 8 coils
        H, W = k.shape[-2:]
        top, left = (H - size) // 2, (W - size) // 2
        k = k[..., top:top + size, left:left + size].contiguous()
        volumes.append(Volume(ref.name, k, rss(ifft2c(k)).float()))
    return volumes


def lowpass(sampling: CartesianSampling, width: int) -> ProposedMask:
    """The budget as one centre block: the ACS columns and the nearest others
    (alternating sides), ceil(W / R) columns in all."""
    order = np.argsort(np.abs(np.arange(width) - width // 2), kind="stable")
    columns = np.zeros(width, dtype=bool)
    columns[order[:sampling.max_columns(width)]] = True
    start, stop = sampling.acs_columns(width)
    assert columns[start:stop].all()
    return ProposedMask(columns, kind="lowpass")


def test_splits(test_volumes, real, sampling) -> dict:
    """{"phantom": split, "real": split} measured with `sampling`."""
    data = {"phantom": make_split(test_volumes, sampling, False)}
    if real:
        data["real"] = make_split(real, sampling, False)
    return data


def scores(targets, recon) -> dict:
    values = evaluate_volumes(targets, recon)
    return {k: float(np.mean(v)) for k, v in values.items()}


def evaluate(training, split, sampling, proposal=None) -> tuple[dict, float]:
    """Metrics of `training`'s network on a test split measured with the
    dataset's `sampling`, or re-measured with `proposal`, as the objective
    does (an Acquisition); the sampled fraction."""
    acquisition = Acquisition(split, sampling)
    test = (acquisition.split() if proposal is None
            else acquisition.measure(proposal))
    recon = LearnedRun(training, test).result()["recon"]
    return (scores(split.targets(), recon),
            acquisition.record()["sampled_fraction"])


def main():
    args = parse_args()
    if args.summarize:
        rows, masks = [], {}
        for name in args.summarize:
            with open(name, newline="") as f:
                rows += [_typed(r) for r in csv.DictReader(f)]
            found = Path(name).with_name(Path(name).stem + "_masks.json")
            if found.is_file():
                masks.update(json.loads(found.read_text()))
        args.masks = sorted({r["mask"] for r in rows})
        args.accelerations = sorted({r["acceleration"] for r in rows})
        args.networks = sorted({r["network"] for r in rows})
        if masks:
            args.size = len(next(iter(masks.values()))["mask"])
        return summary(rows, masks, args)
    torch.set_num_threads(1)
    cache = args.checkpoints
    shape = dict(image_size=args.size, n_coils=8, n_slices=4, noise=0.01)
    real = real_slices(args.size)
    rows, masks = [], {}
    started = time.perf_counter()
    for seed in args.seeds:
        train_volumes = phantom_volumes("train", 8, seed, **shape)
        test_volumes = phantom_volumes("test", 2, seed, **shape)
        for acceleration in args.accelerations:
            for network in args.networks:
                config = model_config(network)
                settings = TrainSettings(n_epochs=args.epochs, lr=LR[network],
                                         batch_size=1, seed=seed)
                for mask in [m for m in FIXED if m in args.masks]:
                    sampling = CartesianSampling(mask, acceleration)
                    train = make_split(train_volumes, sampling, True)
                    training = Training(network, config, train, settings,
                                        cache_dir=cache, log=lambda *_: None)
                    training.run()
                    splits = test_splits(test_volumes, real, sampling)
                    for data, split in splits.items():
                        metrics, fraction = evaluate(training, split, sampling)
                        rows.append(_row(seed, acceleration, network, mask, data,
                                         metrics, fraction, training))
                        _say(rows[-1])
                sampling = CartesianSampling("random", acceleration)  # budget, ACS
                if "lowpass" in args.masks:
                    proposal = lowpass(sampling, args.size)
                    train = Split(make_split(train_volumes, sampling, True).source,
                                  proposal, True, CoilMaps("acs"))
                    training = Training(network, config, train, settings,
                                        cache_dir=cache, log=lambda *_: None)
                    training.run()
                    for data, split in test_splits(test_volumes, real,
                                                   sampling).items():
                        metrics, fraction = evaluate(training, split, sampling,
                                                     proposal)
                        rows.append(_row(seed, acceleration, network, "lowpass",
                                         data, metrics, fraction, training))
                        _say(rows[-1])
                if "learned" not in args.masks:
                    continue
                # LOUPE: the budget and ACS block of the dataset's masks.
                train = make_split(train_volumes, sampling, True)
                loupe = model_config("loupe", network=config,
                                     acceleration=acceleration,
                                     center_fraction=sampling.center_fraction,
                                     widths=widths(train))
                joint = Training("loupe", loupe, FullySampled(train),
                                 TrainSettings(n_epochs=args.epochs - args.finetune,
                                               lr=LR[network], batch_size=1,
                                               seed=seed),
                                 step_fn=loupe_step, cache_dir=cache,
                                 log=lambda *_: None)
                splits = test_splits(test_volumes, real, sampling)
                phantom = Acquisition(splits["phantom"], sampling).split()
                run = LoupeRun(joint, train, phantom, args.finetune)
                run.run(lambda: True)  # no test point before the end
                proposal = run.proposal()
                for data, split in splits.items():
                    metrics, fraction = evaluate(run.training, split, sampling,
                                                 proposal)
                    rows.append(_row(seed, acceleration, network, "learned", data,
                                     metrics, fraction, run.training, joint))
                    _say(rows[-1])
                masks[f"seed{seed}-R{acceleration}-{network}"] = {
                    "mask": proposal.columns[args.size].astype(int).tolist(),
                    "probabilities": [round(p, 4) for p in run.model.probabilities(
                        args.size).detach().tolist()]}
    print(f"done in {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if masks:
        out.with_name(out.stem + "_masks.json").write_text(json.dumps(masks))
    summary(rows, masks, args)


def _row(seed, acceleration, network, mask, data, metrics, fraction, training,
         joint=None) -> dict:
    seconds = training.measurements()["train_time_s"]
    if joint is not None and joint is not training:
        seconds += joint.measurements()["train_time_s"]
    return dict(seed=seed, acceleration=acceleration, network=network, mask=mask,
                data=data, psnr=metrics["psnr"], ssim=metrics["ssim"],
                nmse=metrics["nmse"], sampled_fraction=fraction,
                train_time_s=seconds)


def _typed(row: dict) -> dict:
    """A CSV row with its numbers as numbers."""
    ints, texts = ("seed", "acceleration"), ("network", "mask", "data")
    return {k: (v if k in texts else int(v) if k in ints else float(v))
            for k, v in row.items()}


def _say(row):
    print(f"seed {row['seed']} {row['acceleration']}x {row['network']:6s} "
          f"{row['mask']:10s} {row['data']:7s} PSNR {row['psnr']:.2f} SSIM "
          f"{row['ssim']:.3f} fraction {row['sampled_fraction']:.4f} train "
          f"{row['train_time_s']:.0f} s", flush=True)


def summary(rows, masks, args):
    """Mean +- std over seeds; learned minus the best fixed mask, paired by
    seed; the density against the distance to the centre column."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    keys = ["data", "acceleration", "network", "mask"]
    table = frame.groupby(keys).agg(
        psnr=("psnr", "mean"), psnr_sd=("psnr", "std"), ssim=("ssim", "mean"),
        ssim_sd=("ssim", "std"), fraction=("sampled_fraction", "mean"))
    print("\n| data | R | network | mask | PSNR (dB) | SSIM | sampled fraction |")
    print("|---|---|---|---|---|---|---|")
    for (data, r, net, mask), v in table.iterrows():
        print(f"| {data} | {r}x | {net} | {mask} | {v.psnr:.2f} ± {v.psnr_sd:.2f} "
              f"| {v.ssim:.3f} ± {v.ssim_sd:.3f} | {v.fraction:.4f} |")
    print("\nlearned minus the best of the dataset's masks (random, equispaced, "
          "gaussian; chosen by mean PSNR over seeds), and minus lowpass, paired "
          "by seed:")
    print("| data | R | network | best fixed | ΔPSNR (dB) per seed | mean | "
          "ΔSSIM mean | ΔPSNR vs lowpass, mean |")
    print("|---|---|---|---|---|---|---|---|")
    for (data, r, net), group in frame.groupby(["data", "acceleration", "network"]):
        fixed = group[group["mask"].isin(FIXED)]
        if fixed.empty or "learned" not in set(group["mask"]):
            continue
        best = fixed.groupby("mask")["psnr"].mean().idxmax()
        a = group[group["mask"] == "learned"].set_index("seed")
        b = group[group["mask"] == best].set_index("seed")
        d = (a["psnr"] - b["psnr"]).sort_index()
        ds = (a["ssim"] - b["ssim"]).mean()
        low = group[group["mask"] == "lowpass"].set_index("seed")
        dl = (f"{(a['psnr'] - low['psnr']).mean():+.2f}" if not low.empty
              else "n/a")
        print(f"| {data} | {r}x | {net} | {best} | "
              f"{', '.join(f'{x:+.2f}' for x in d)} | {d.mean():+.2f} | {ds:+.3f} "
              f"| {dl} |")
    print("\nsampling density against the distance to the centre column "
          f"(W = {args.size}; fraction of columns sampled in each band, mean over "
          "slices / seeds):")
    half = args.size // 2
    edges = [0, half // 16, half // 8, half // 4, half // 2, half + 1]
    bands = list(zip(edges[:-1], edges[1:]))
    distance = np.abs(np.arange(args.size) - args.size // 2)
    print("| R | mask | " + " | ".join(f"{a}-{b - 1}" for a, b in bands) + " |")
    print("|---|---|" + "---|" * len(bands))
    for r in args.accelerations:
        for mask in [m for m in FIXED if m in args.masks]:
            sampling = CartesianSampling(mask, r)
            m = np.stack([sampling.column_mask(args.size, s) for s in range(400)])
            print(f"| {r}x | {mask} | " + " | ".join(
                f"{m[:, (distance >= a) & (distance < b)].mean():.2f}"
                for a, b in bands) + " |")
        if "lowpass" in args.masks:
            m = lowpass(CartesianSampling("random", r), args.size).columns[
                args.size][None]
            print(f"| {r}x | lowpass | " + " | ".join(
                f"{m[:, (distance >= a) & (distance < b)].mean():.2f}"
                for a, b in bands) + " |")
        for net in args.networks:
            m = np.array([v["mask"] for k, v in masks.items()
                          if k.endswith(f"-R{r}-{net}")])
            if not m.size:
                continue
            print(f"| {r}x | learned ({net}) | " + " | ".join(
                f"{m[:, (distance >= a) & (distance < b)].mean():.2f}"
                for a, b in bands) + " |")


if __name__ == "__main__":
    main()
