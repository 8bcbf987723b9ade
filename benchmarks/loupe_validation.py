"""LOUPE's logit_lr_factor chosen on a validation split, never on test slices.

    PYTHONPATH=$PWD python benchmarks/loupe_validation.py      # docs/sampling.md
    PYTHONPATH=$PWD python benchmarks/loupe_validation.py --factors 1 30 --seeds 0

The phantom's training volumes of a seed (the dataset's defaults: 8 volumes
of 4 slices, 128 x 128, 8 coils) are split: the first 6 train, the last 2
validate (the test volumes are not read). For each factor, LOUPE (the
solver's defaults: 6 joint epochs, 2 of fine-tuning, lr of the network's
solver) is trained on the 6 and scored on the 2 with fastMRI's metrics,
measured with its learned mask by an Acquisition as the objective would.
Printed: validation PSNR / SSIM per factor, network, acceleration (mean over
seeds) and how far the learned mask moved from its initial draw (the
fraction of its columns outside the ACS block that changed).
"""

import argparse
import time

import numpy as np
import torch

from benchmark_mri.data import phantom_volumes
from benchmark_mri.data.acquisition import Acquisition
from benchmark_mri.data.split import make_split
from benchmark_mri.learned import Training, TrainSettings, model_config
from benchmark_mri.learned.loupe import FullySampled, loupe_step, widths
from benchmark_mri.learned.loupe_run import LoupeRun
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling

LR = {"unet": 1e-3, "xpdnet": 2e-3}  # the solvers' defaults


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--factors", type=float, nargs="+", default=[1, 10, 30, 100, 300])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--networks", nargs="+", default=["unet", "xpdnet"])
    p.add_argument("--accelerations", type=int, nargs="+", default=[4])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--finetune", type=int, default=2)
    return p.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(1)
    shape = dict(image_size=128, n_coils=8, n_slices=4, noise=0.01)
    started = time.perf_counter()
    print("| network | R | logit_lr_factor | validation PSNR (dB) | SSIM | mask "
          "columns changed |")
    print("|---|---|---|---|---|---|")
    for network in args.networks:
        for r in args.accelerations:
            sampling = CartesianSampling("random", r)
            for factor in args.factors:
                psnr, ssim, moved = [], [], []
                for seed in args.seeds:
                    volumes = phantom_volumes("train", 8, seed, **shape)
                    train = make_split(volumes[:6], sampling, True)
                    valid = make_split(volumes[6:], sampling, False)
                    config = model_config(
                        "loupe", network=model_config(network), acceleration=r,
                        center_fraction=sampling.center_fraction,
                        widths=widths(train), logit_lr_factor=factor)
                    joint = Training("loupe", config, FullySampled(train),
                                     TrainSettings(n_epochs=args.epochs,
                                                   lr=LR[network], batch_size=1,
                                                   seed=seed),
                                     step_fn=loupe_step, log=lambda *_: None)
                    first = joint.model.mask_columns(128)
                    acquisition = Acquisition(valid, sampling)
                    run = LoupeRun(joint, train, acquisition.split(), args.finetune)
                    run.run(lambda: True)
                    result = run.result()  # re-measured with the learned mask
                    scores = evaluate_volumes(valid.targets(), result["recon"])
                    psnr.append(np.mean(scores["psnr"]))
                    ssim.append(np.mean(scores["ssim"]))
                    last = run.model.mask_columns(128)
                    start, stop = config.acs(128)
                    outer = np.r_[0:start, stop:128]
                    moved.append(float((first[outer] & ~last[outer]).sum()
                                       / max(int(first[outer].sum()), 1)))
                print(f"| {network} | {r}x | {factor:g} | {np.mean(psnr):.2f} | "
                      f"{np.mean(ssim):.3f} | {np.mean(moved):.2f} |", flush=True)
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
