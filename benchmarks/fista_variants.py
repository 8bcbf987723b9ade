"""Can FISTA reach sigpy's 100-iteration PSNR in fewer iterations? Variants
that solve the same problem (same cost, same lambda, same wavelet prox), on
the real slices of ../shared/data/fastmri_format/ at 4x equispaced.

For each slice: sigpy L1WaveletRecon's PSNR after its default 100
iterations (the target of benchmarks/classical_speed.py), then, for each
variant, the first iteration whose PSNR reaches it, the peak PSNR, the PSNR
after --iterations, and the proximal steps computed per iteration (each one
A^H A and a wavelet analysis and synthesis: what an iteration costs):

- fista: WaveletL1's FISTA, step 1/L, L the bound on ||A^H A|| (the default);
- restart: FISTA with gradient restart (O'Donoghue & Candes 2015, the
  solver's `restart` option);
- backtracking: FISTA with a local step (Scheinberg, Goldfarb & Bai 2014):
  L shrinks by 0.9 each iteration and grows back, the step recomputed,
  while ||A d||^2 > L ||d||^2 for the step d (never above the bound);
- greedy: full momentum with gradient restart (Liang, Luo & Schonlieb 2022),
  step 1/L;
- warm: FISTA started from 10 conjugate-gradient iterations on the
  unregularised SENSE problem.

Untimed (iterations only).

    PYTHONPATH=. python benchmarks/fista_variants.py
"""

import argparse
import os
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--iterations", type=int, default=300)
ARGS.add_argument("--data", type=Path,
                  default=Path(__file__).resolve().parents[1] / ".." / "shared"
                  / "data" / "fastmri_format")
args = ARGS.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sigpy.mri.app import L1WaveletRecon  # noqa: E402

from benchmark_mri.classical import WaveletL1, soft_threshold  # noqa: E402
from benchmark_mri.data import Volume, center_crop, measure  # noqa: E402
from benchmark_mri.metrics import psnr  # noqa: E402
from benchmark_mri.physics import CartesianSampling  # noqa: E402

SLICES = ["espirit_brain_full_8ch", "loraks_mprage_4ch", "gpunufft_brain_4ch"]
VARIANTS = ["fista", "restart", "backtracking", "greedy", "warm"]


def load(name):
    with h5py.File(args.data / f"{name}.h5") as f:
        volume = Volume(name, torch.from_numpy(f["kspace"][()]),
                        torch.from_numpy(f["reconstruction_rss"][()]))
    return measure(volume, CartesianSampling("equispaced", 4), keep_target=True)


def dot(a, b):
    return float(torch.vdot(a.flatten(), b.flatten()).real)


def conjugate_gradient(normal, b, n_iter):
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), dot(r, r)
    for _ in range(n_iter):
        q = normal(p)
        alpha = rr / dot(p, q)
        x, r = x + alpha * p, r - alpha * q
        rr, rr_old = dot(r, r), rr
        p = r + (rr / rr_old) * p
    return x


def run(m, variant):
    """PSNR after each iteration, and proximal steps computed."""
    base = WaveletL1(m.sense(), m.y, 1e-3)
    base.step()  # A^H y, L and the absolute lambda
    op, w, adj_y, bound = base.op, base.wavelet, base.adj_y, base.lipschitz
    lmbda = base.lmbda_abs.reshape(-1, 1)

    def prox_step(z, normal_z, L):
        v = z - (normal_z - adj_y) / L
        x = w.inverse(soft_threshold(w.forward(v), lmbda / L))
        return x, op.normal(x)

    x = torch.zeros_like(adj_y)
    if variant == "warm":
        x = conjugate_gradient(op.normal, adj_y, 10)
    normal_x = op.normal(x)
    z, normal_z, x_old, normal_x_old = x, normal_x, x, normal_x
    t, L, evaluations, psnrs = 1.0, bound, 0, []
    for _ in range(args.iterations):
        L_try = 0.9 * L if variant == "backtracking" else L
        while True:
            x, normal_x = prox_step(z, normal_z, L_try)
            evaluations += 1
            d = x - z  # accept when ||A d||^2 <= L ||d||^2
            if (variant != "backtracking"
                    or dot(d, normal_x - normal_z) <= L_try * dot(d, d)):
                break
            L_try = min(2 * L_try, bound)
        if variant == "greedy":
            beta = 0.0 if dot(z - x, x - x_old) > 0 else 1.0
        else:
            if variant == "restart" and dot(z - x, x - x_old) > 0:
                t = 1.0
            ratio = L_try / L if variant == "backtracking" else 1.0
            t_new = (1 + (1 + 4 * ratio * t * t) ** 0.5) / 2
            beta, t = (t - 1) / t_new, t_new
        z = x + beta * (x - x_old)
        normal_z = normal_x + beta * (normal_x - normal_x_old)
        x_old, normal_x_old, L = x, normal_x, L_try
        psnrs.append(psnr(m.target, center_crop(x.abs(), m.target_size)))
    return psnrs, evaluations / args.iterations


def main():
    torch.set_num_threads(1)
    print(f"| slice | sigpy 100 it. PSNR | variant | iterations to reach it | "
          f"peak PSNR (iteration) | PSNR after {args.iterations} | "
          "proximal steps per iteration |\n|---|---|---|---|---|---|---|")
    for name in SLICES:
        m = load(name)
        probe = WaveletL1(m.sense(), m.y, 1e-3)
        probe.step()
        ref = L1WaveletRecon(m.y[0].numpy(), m.smaps[0].numpy(),
                             float(probe.lmbda_abs[0]), max_iter=100,
                             show_pbar=False).run()
        target = psnr(m.target, center_crop(torch.from_numpy(np.abs(ref))[None],
                                            m.target_size))
        for variant in VARIANTS:
            psnrs, per_iteration = run(m, variant)
            reach = next((k + 1 for k, p in enumerate(psnrs) if p >= target), None)
            peak = int(np.argmax(psnrs))
            print(f"| {name} | {target:.3f} | {variant} | "
                  f"{reach if reach else 'never'} | {psnrs[peak]:.3f} ({peak + 1}) | "
                  f"{psnrs[-1]:.3f} | {per_iteration:.2f} |", flush=True)


if __name__ == "__main__":
    main()
