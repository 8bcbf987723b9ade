"""How the classical solvers' time per slice grows with coils and image size.

On synthetic multi-coil slices (a random brain-like object seen by birdcage
coils, benchmark_mri.data.phantom, as the fake fastMRI files are made), at 4x
equispaced with ACS maps, run alternately (A B A B ...), medians:

- GRAPPA (benchmark_mri.classical.grappa) vs pygrappa's mdgrappa, 5x5 kernel,
  lambda 0.01, from undersampled k-space to the RSS image (as
  benchmarks/classical_speed.py), and how far apart their images are;
- FISTA (benchmark_mri.classical.WaveletL1, the solver's default step) vs
  sigpy's L1WaveletRecon, 100 iterations each (sigpy's default; its power
  iteration included), the same ACS maps estimated in both, db4, the same
  absolute lambda.

Two sweeps: coils (4, 8, 15, 32) at 256 x 256, and image size (128 x 128 to
fastMRI knee's 640 x 368) at 15 coils. One thread for every library.

    PYTHONPATH=. python benchmarks/classical_scaling.py --repeats 3
"""

import argparse
import os

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--repeats", type=int, default=3)
ARGS.add_argument("--threads", type=int, default=1)
ARGS.add_argument("--quick", action="store_true",
                  help="the two smallest sizes and 4 and 8 coils only")
args = ARGS.parse_args()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from pygrappa import mdgrappa  # noqa: E402
from sigpy.mri.app import L1WaveletRecon  # noqa: E402

from benchmark_mri.classical import WaveletL1, grappa  # noqa: E402
from benchmark_mri.data import Volume, estimate_smaps_acs, measure  # noqa: E402
from benchmark_mri.data.phantom import birdcage_smaps, random_object  # noqa: E402
from benchmark_mri.data.transforms import center_crop  # noqa: E402
from benchmark_mri.physics import CartesianSampling, Sense, fft2c, ifft2c, rss  # noqa: E402

LMBDA = 1e-3  # relative, the ista_l1 solver's default
N_ITER = 100  # sigpy L1WaveletRecon's default
COILS = (4, 8, 15, 32)
SIZES = ((128, 128), (256, 256), (320, 320), (640, 368))


def synthetic_slice(shape, n_coils, seed=0):
    """One slice (1, C, H, W) measured at 4x equispaced, with ACS maps."""
    rng = np.random.default_rng(seed)
    n = max(shape)
    obj = torch.from_numpy(random_object(rng, n, [0.0]).astype(np.complex64))
    maps = torch.from_numpy(birdcage_smaps(n_coils, n))
    images = center_crop(maps, shape)[None] * center_crop(obj, shape)[:, None]
    kspace = fft2c(images)
    noise = rng.standard_normal((2, *kspace.shape)).astype(np.float32)
    sigma = 0.01 * float(rss(images).max())
    kspace = kspace + sigma * torch.complex(torch.from_numpy(noise[0]),
                                            torch.from_numpy(noise[1]))
    volume = Volume(f"synthetic_{shape[0]}x{shape[1]}_{n_coils}ch", kspace,
                    rss(ifft2c(kspace)))
    return measure(volume, CartesianSampling("equispaced", 4), keep_target=True)


def run_pygrappa(m):
    filled = mdgrappa(m.y[0].numpy(), kernel_size=(5, 5), coil_axis=0, lamda=0.01)
    return center_crop(rss(ifft2c(torch.from_numpy(filled)))[None], m.target_size)


def run_fista(m):
    smaps = estimate_smaps_acs(m.y, m.mask)
    alg = WaveletL1(Sense(m.mask, smaps), m.y, LMBDA)
    for _ in range(N_ITER):
        alg.step()
    return alg.magnitude()


def run_sigpy(m, lmbda_abs):
    smaps = estimate_smaps_acs(m.y, m.mask)
    return L1WaveletRecon(m.y[0].numpy(), smaps[0].numpy(), lmbda_abs,
                          max_iter=N_ITER, show_pbar=False).run()


def alternated(fns):
    """Median seconds of each function, run in turn args.repeats times."""
    times = {name: [] for name in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def measure_config(shape, n_coils):
    m = synthetic_slice(shape, n_coils)
    ours, ref = grappa(m), run_pygrappa(m)
    apart = float(torch.linalg.vector_norm(ours - ref) / torch.linalg.vector_norm(ref))
    probe = WaveletL1(m.sense(), m.y, LMBDA)
    probe.step()
    lmbda_abs = float(probe.lmbda_abs[0])
    t = alternated({"grappa": lambda: grappa(m), "pygrappa": lambda: run_pygrappa(m),
                    "fista": lambda: run_fista(m),
                    "sigpy": lambda: run_sigpy(m, lmbda_abs)})
    return dict(shape=shape, coils=n_coils, apart=apart, **t)


def main():
    torch.set_num_threads(args.threads)
    coils = COILS[:2] if args.quick else COILS
    sizes = SIZES[:2] if args.quick else SIZES
    configs = [((256, 256), c) for c in coils]
    configs += [(s, 15 if not args.quick else 8) for s in sizes if s != (256, 256)]
    load_before = os.getloadavg()
    rows = []
    for shape, n_coils in configs:
        rows.append(measure_config(shape, n_coils))
        r = rows[-1]
        print(f"# done {shape} x {n_coils} coils: GRAPPA {r['grappa']:.3f} s, "
              f"FISTA {r['fista']:.3f} s", flush=True)
    loads = ", ".join(f"{a:.1f} -> {b:.1f}"
                      for a, b in zip(load_before, os.getloadavg()))
    print(f"\nthreads: {args.threads}, medians of {args.repeats} alternated runs, "
          f"load average (1, 5, 15 min) {loads}, "
          f"4x equispaced, one synthetic slice each, FISTA and sigpy {N_ITER} "
          "iterations\n")
    print("| image | coils | GRAPPA (s) | pygrappa (s) | speed-up | images apart | "
          f"FISTA {N_ITER} it. (s) | sigpy {N_ITER} it. (s) | FISTA / sigpy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape'][0]} x {r['shape'][1]} | {r['coils']} | "
              f"{r['grappa']:.3f} | {r['pygrappa']:.3f} | "
              f"{r['pygrappa'] / r['grappa']:.1f}x | {r['apart']:.0e} | "
              f"{r['fista']:.2f} | {r['sigpy']:.2f} | {r['fista'] / r['sigpy']:.2f} |")


if __name__ == "__main__":
    main()
