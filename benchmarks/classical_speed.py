"""Classical solvers against their references, side by side, on the real slices.

On the multi-coil slices of ../shared/data/fastmri_format/ at 4x equispaced
(the objective's masks), run alternately (A B A B ...) and report medians:

- GRAPPA (benchmark_mri.classical.grappa) vs pygrappa's mdgrappa, same kernel
  (5x5) and lambda (0.01), both timed from undersampled k-space to the cropped
  RSS image; the PSNR of each against the fully sampled reference, and how far
  apart the two images are (relative L2).
- FISTA (benchmark_mri.classical.WaveletL1) vs sigpy's L1WaveletRecon: sigpy
  runs its default 100 iterations (power iteration included); FISTA runs until
  its image reaches sigpy's 100-iteration PSNR. Both pipelines are timed from
  undersampled k-space, the coil-map estimate included: both use the same ACS
  maps (benchmark_mri.data.estimate_smaps_acs), the same db4 wavelet and the
  same absolute lambda (1e-3 x max |A^H y|, the solver's default). FISTA is
  timed with each of its step rules: L from 30 power iterations (sigpy's rule)
  and L from the closed-form bound on the maps.

Every library runs with the same number of threads (--threads, 1 by default:
on a shared CPU an oversubscribed thread pool only adds noise). The load
average is printed before and after: timings taken beside other jobs are
noise, compare the ratios.

    PYTHONPATH=. python benchmarks/classical_speed.py --repeats 5
"""

import argparse
import os
import sys
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--repeats", type=int, default=5)
ARGS.add_argument("--threads", type=int, default=1)
ARGS.add_argument("--data", type=Path,
                  default=Path(__file__).resolve().parents[1] / ".." / "shared"
                  / "data" / "fastmri_format")
ARGS.add_argument("--max-iter", type=int, default=300,
                  help="FISTA gives up after this many iterations")
args = ARGS.parse_args()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import time  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from pygrappa import mdgrappa  # noqa: E402
from sigpy.mri.app import L1WaveletRecon  # noqa: E402

from benchmark_mri.classical import WaveletL1, grappa  # noqa: E402
from benchmark_mri.data import (  # noqa: E402
    Volume,
    center_crop,
    estimate_smaps_acs,
    measure,
)
from benchmark_mri.metrics import psnr  # noqa: E402
from benchmark_mri.physics import CartesianSampling, Sense, ifft2c, rss  # noqa: E402

SLICES = ["espirit_brain_full_8ch", "loraks_mprage_4ch", "gpunufft_brain_4ch"]
LMBDA = 1e-3  # relative: the ista_l1 solver's default
RULES = ("power", "bound")  # how FISTA takes L (classical/wavelet_l1.py)


def load(name):
    with h5py.File(args.data / f"{name}.h5") as f:
        volume = Volume(name, torch.from_numpy(f["kspace"][()]),
                        torch.from_numpy(f["reconstruction_rss"][()]))
    return measure(volume, CartesianSampling("equispaced", 4), keep_target=True)


def timed(fn, *fn_args):
    start = time.perf_counter()
    out = fn(*fn_args)
    return time.perf_counter() - start, out


def run_pygrappa(m):
    filled = mdgrappa(m.y[0].numpy(), kernel_size=(5, 5), coil_axis=0, lamda=0.01)
    return center_crop(rss(ifft2c(torch.from_numpy(filled)))[None], m.target_size)


def run_sigpy(m, lmbda_abs):
    smaps = estimate_smaps_acs(m.y, m.mask)
    x = L1WaveletRecon(m.y[0].numpy(), smaps[0].numpy(), lmbda_abs,
                       max_iter=100, show_pbar=False).run()
    return center_crop(torch.from_numpy(np.abs(x))[None], m.target_size)


def run_fista(m, n_iter, lipschitz):
    smaps = estimate_smaps_acs(m.y, m.mask)
    alg = WaveletL1(Sense(m.mask, smaps), m.y, LMBDA, lipschitz=lipschitz)
    for _ in range(n_iter):
        alg.step()
    return center_crop(alg.magnitude(), m.target_size)


def iterations_to_reach(m, target_psnr, lipschitz):
    """FISTA iterations until the PSNR reaches target_psnr (untimed search)."""
    alg = WaveletL1(m.sense(), m.y, LMBDA, lipschitz=lipschitz)
    for k in range(1, args.max_iter + 1):
        alg.step()
        if psnr(m.target, center_crop(alg.magnitude(), m.target_size)) >= target_psnr:
            return k
    return None


def main():
    torch.set_num_threads(args.threads)
    if not args.data.exists():
        sys.exit(f"No real data at {args.data}: see /work/shared/data/README.md.")
    load_before = os.getloadavg()
    grappa_rows, l1_rows = [], []
    for name in SLICES:
        m = load(name)
        # Absolute lambda for sigpy, as WaveletL1 derives it from LMBDA.
        probe = WaveletL1(m.sense(), m.y, LMBDA)
        probe.step()
        lmbda_abs = float(probe.lmbda_abs[0])

        t_ours, t_ref = [], []
        for _ in range(args.repeats):
            t, ours = timed(grappa, m)
            t_ours.append(t)
            t, ref = timed(run_pygrappa, m)
            t_ref.append(t)
        apart = torch.linalg.vector_norm(ours - ref) / torch.linalg.vector_norm(ref)
        grappa_rows.append((name, np.median(t_ours), np.median(t_ref),
                            psnr(m.target, ours), psnr(m.target, ref), float(apart)))

        t_sigpy, sigpy_image = timed(run_sigpy, m, lmbda_abs)
        sigpy_psnr = psnr(m.target, sigpy_image)
        n_iter = {rule: iterations_to_reach(m, sigpy_psnr, rule) for rule in RULES}
        t_ours, t_ref = {rule: [] for rule in RULES}, [t_sigpy]
        for i in range(args.repeats):
            for rule in RULES:
                if n_iter[rule] is not None:
                    t, fista = timed(run_fista, m, n_iter[rule], rule)
                    t_ours[rule].append(t)
            if i:
                t_ref.append(timed(run_sigpy, m, lmbda_abs)[0])
        for rule in RULES:
            t = np.median(t_ours[rule]) if t_ours[rule] else float("inf")
            l1_rows.append((name, rule, np.median(t_ref), sigpy_psnr, n_iter[rule],
                            t))

    loads = zip(load_before, os.getloadavg())
    loads = ", ".join(f"{a:.1f} -> {b:.1f}" for a, b in loads)
    print(f"threads: {args.threads}, medians of {args.repeats} alternated runs, "
          f"4x equispaced, one slice each; load average (1, 5, 15 min) {loads}\n")
    print("| slice | GRAPPA (s) | pygrappa mdgrappa (s) | speed-up | PSNR GRAPPA | "
          "PSNR pygrappa | images apart |\n|---|---|---|---|---|---|---|")
    for name, t, t_ref, p, p_ref, apart in grappa_rows:
        print(f"| {name} | {t:.3f} | {t_ref:.3f} | {t_ref / t:.1f}x | {p:.2f} | "
              f"{p_ref:.2f} | {apart:.0e} |")
    print("\n| slice | FISTA step 1/L | sigpy L1WaveletRecon 100 it. (s) | "
          "sigpy PSNR | FISTA iterations to reach it | FISTA (s) | time ratio "
          "FISTA / sigpy |\n|---|---|---|---|---|---|---|")
    for name, rule, t_ref, p_ref, n, t in l1_rows:
        print(f"| {name} | {rule} | {t_ref:.3f} | {p_ref:.2f} | {n} | {t:.3f} | "
              f"{t / t_ref:.2f} |")


if __name__ == "__main__":
    main()
