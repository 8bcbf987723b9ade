"""Coil-map phase and learned models: XPDNet and wavelet-l1 with three maps.

    PYTHONPATH=$PWD python benchmarks/smaps_phase.py [--epochs 6] [--seed 0]

The phantom (128 px, 8 coils, 4x random, 8 training / 2 test volumes of 4
slices) with, for both splits, (1) plain ESPIRiT maps (sigpy's phase
convention: relative to the first coil), (2) ESPIRiT maps with the image's
low-resolution phase absorbed (data.smaps.absorb_image_phase, what the
objective gives), (3) ACS maps. Printed per choice: |imag| / |image| of the
fully sampled SENSE image inside the object, XPDNet's test PSNR after
`--epochs` epochs (same seed, same batches) and wavelet-l1's after
`--ista-iterations` FISTA iterations. The numbers of docs/coil-maps.md.
"""

import argparse
from dataclasses import replace

import numpy as np
import torch

from benchmark_mri.classical import WaveletL1
from benchmark_mri.data import center_crop, measure, phantom_volumes
from benchmark_mri.data.smaps import estimate_smaps_espirit
from benchmark_mri.learned import (
    Trainer,
    TrainSettings,
    build_model,
    model_config,
    reconstruct,
)
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling, ifft2c

CHOICES = ("espirit (plain)", "espirit (phase absorbed)", "acs")


def with_maps(volume, sampling, keep_target, choice):
    if choice == "acs":
        return measure(volume, sampling, keep_target, "acs")
    m = measure(volume, sampling, keep_target, "espirit")  # phase absorbed
    if choice == "espirit (plain)":
        m = replace(m, smaps=estimate_smaps_espirit(m.y, m.mask))
    return m


def imag_fraction(m, volume) -> float:
    image = torch.sum(m.smaps.conj() * ifft2c(volume.kspace), dim=1)
    inside = volume.target > 0.2 * volume.target.max()
    return float(image.imag[inside].norm() / image[inside].norm())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--ista-iterations", type=int, default=474)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    sampling = CartesianSampling("random", 4)
    shape = dict(image_size=128, n_coils=8, n_slices=4)
    train_v = phantom_volumes("train", 8, args.seed, **shape)
    test_v = phantom_volumes("test", 2, args.seed, **shape)
    targets = [v.target for v in test_v]
    print("| maps | imag / image | XPDNet PSNR dB | wavelet-l1 PSNR dB |")
    print("|---|---|---|---|")
    for choice in CHOICES:
        train = [with_maps(v, sampling, True, choice) for v in train_v]
        test = [with_maps(v, sampling, False, choice) for v in test_v]
        torch.manual_seed(args.seed)
        model = build_model(model_config("xpdnet"))
        trainer = Trainer(model, train, TrainSettings(n_epochs=args.epochs, lr=2e-3,
                                                      batch_size=1, seed=args.seed))
        for _ in range(args.epochs):
            trainer.epoch()
        recons = [reconstruct(model.eval(), m) for m in test]
        learned = evaluate_volumes(targets, recons)
        ista = []
        for m in test:
            alg = WaveletL1.for_measurement(m, 1e-3)
            for _ in range(args.ista_iterations):
                alg.step()
            ista.append(center_crop(alg.magnitude(), m.target_size))
        ista = evaluate_volumes(targets, ista)
        print(f"| {choice} | {imag_fraction(test[0], test_v[0]):.2f} | "
              f"{np.mean(learned['psnr']):.2f} | {np.mean(ista['psnr']):.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
