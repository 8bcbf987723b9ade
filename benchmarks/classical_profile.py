"""Where the classical solvers' time goes, stage by stage, on the real slices.

On the multi-coil slices of ../shared/data/fastmri_format/ at 4x equispaced,
one thread, each stage timed alone (CPU time of this thread, the minimum
over --repeats rounds of a few calls: a stage's cost, not the machine's
load):

- GRAPPA (benchmark_mri.classical.grappa): input checks, window patterns,
  calibration Gram, weight solves, kernel application, RSS image;
- one FISTA step (benchmark_mri.classical.WaveletL1, default step): A^H A,
  wavelet analysis, soft threshold, wavelet synthesis, and the rest (vector
  updates, misfit check, Python), the whole step timed too;
- the floor of one FISTA step: only the operations no implementation of
  the same iteration can skip, each the fastest torch routine timed alone
  (MKL's FFTs, oneDNN's convolutions; no padding, copies, allocator or
  Python between them): the coil products and the coil sum, the 1D FFTs
  and the mask, each wavelet level's analysis and synthesis convolution,
  the soft threshold, and the gradient step and momentum updates. What an
  iteration costs at best on this core.

    PYTHONPATH=. python benchmarks/classical_profile.py --repeats 7
"""

import argparse
import os
import sys
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--repeats", type=int, default=7)
ARGS.add_argument("--data", type=Path,
                  default=Path(__file__).resolve().parents[1] / ".." / "shared"
                  / "data" / "fastmri_format")
args = ARGS.parse_args()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402

import h5py  # noqa: E402
import torch  # noqa: E402

from benchmark_mri.classical import WaveletL1, grappa  # noqa: E402
from benchmark_mri.classical.wavelet import soft_threshold  # noqa: E402
from benchmark_mri.data import Volume, measure  # noqa: E402
from benchmark_mri.physics import CartesianSampling, acs_bounds  # noqa: E402

SLICES = ["espirit_brain_full_8ch", "loraks_mprage_4ch", "gpunufft_brain_4ch"]
GRAPPA = sys.modules["benchmark_mri.classical.grappa"]  # the module


def load(name):
    with h5py.File(args.data / f"{name}.h5") as f:
        volume = Volume(name, torch.from_numpy(f["kspace"][()]),
                        torch.from_numpy(f["reconstruction_rss"][()]))
    return measure(volume, CartesianSampling("equispaced", 4), keep_target=True)


def cost(fn, calls=5):
    """Milliseconds of this thread's CPU time per call, the minimum over
    args.repeats rounds of `calls` calls."""
    fn()
    best = float("inf")
    for _ in range(args.repeats):
        start = time.thread_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.thread_time() - start) / calls)
    return 1e3 * best


def grappa_stages(m):
    y, kernel = m.y[0], (5, 5)
    H, W = y.shape[-2:]
    sampled = m.mask[0, 0].expand(H, W).bool()
    start, stop = acs_bounds(sampled.all(0))
    calib = y[..., start:stop]
    rows, cols, patterns, counts = GRAPPA._patterns(sampled, *kernel)
    gram = cost(lambda: GRAPPA.calibration_gram(calib.to(torch.complex128), *kernel))
    weights = GRAPPA.grappa_weights(calib, patterns, kernel, 0.01)
    filled = GRAPPA.grappa_fill(y, sampled)
    return {
        "checks": cost(lambda: GRAPPA._check(y, sampled, 0.01)),
        "patterns": cost(lambda: GRAPPA._patterns(sampled, *kernel)),
        "Gram": gram,
        "solves": cost(lambda: GRAPPA.grappa_weights(calib, patterns, kernel, 0.01))
        - gram,
        "application": cost(lambda: GRAPPA._fill(y, kernel, rows, cols, patterns,
                                                 counts, weights)),
        "image": cost(lambda: GRAPPA._rss_image(filled)),
        "total": cost(lambda: grappa(m)),
    }


def fista_parts(m):
    alg = WaveletL1(m.sense(), m.y, 1e-3)
    for _ in range(10):
        alg.step()
    w, z = alg.wavelet, alg.z
    c = w.forward(z)
    parts = {
        "A^H A": cost(lambda: alg.op.normal(z), 20),
        "W": cost(lambda: w.forward(z), 20),
        "threshold": cost(lambda: soft_threshold(c, alg.threshold), 20),
        "W^T": cost(lambda: w.inverse(c), 20),
        "step": cost(alg.step, 20),
    }
    parts["rest"] = parts["step"] - sum(v for k, v in parts.items() if k != "step")
    return parts


def fista_floor(m):
    """The best-case cost of one FISTA step, primitive by primitive (ms)."""
    import torch.nn.functional as F

    alg = WaveletL1(m.sense(), m.y, 1e-3)
    for _ in range(10):
        alg.step()
    op, x, w = alg.op, alg.z, alg.wavelet
    coils = torch.mul(op.smaps, x[:, None])
    pairs = torch.view_as_real(coils)
    mask = op.mask_pairs
    analysis, synthesis = w._conv._kernels(pairs)
    levels = []  # (padded input, bands) of each level, finest first
    for h, wd in w._level_inputs:
        padded = torch.randn(2 * x.shape[0], 1, h + 2 * w._conv.f - 3,
                             wd + 2 * w._conv.f - 3)
        levels.append((padded, F.conv2d(padded, analysis, stride=2)))
    c = w.forward(x)
    v, z = x.clone(), torch.view_as_real(x.clone())
    floor = {
        "coil products": cost(lambda: torch.mul(op.smaps, x[:, None]), 20)
        + cost(lambda: torch.linalg.vecdot(op.smaps, coils, dim=1), 20),
        "FFTs": cost(lambda: torch.fft.fft(coils, dim=-1, norm="ortho"), 20)
        + cost(lambda: torch.fft.ifft(coils, dim=-1, norm="ortho"), 20),
        "mask": cost(lambda: pairs.mul_(mask), 20),
        "level 1 W, W^T": cost(lambda: F.conv2d(levels[0][0], analysis, stride=2), 20)
        + cost(lambda: F.conv2d(levels[0][1], synthesis), 20),
        "levels 2+ W, W^T": sum(
            cost(lambda p=p: F.conv2d(p, analysis, stride=2), 20)
            + cost(lambda b=b: F.conv2d(b, synthesis), 20) for p, b in levels[1:]),
        "threshold": cost(lambda: soft_threshold(c, alg.threshold, in_place=True), 20),
        "updates": cost(lambda: v.mul_(-0.5).add_(x).add_(alg.adj_y, alpha=0.5), 20)
        + cost(lambda: torch.lerp(z, z, 1.5, out=z), 20),
    }
    floor["sum"] = sum(floor.values())
    return floor


def table(rows, title):
    keys = list(next(iter(rows.values())))
    print(f"\n| {title} | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.2f}" for k in keys) + " |")


def main():
    torch.set_num_threads(1)
    if not args.data.exists():
        sys.exit(f"No real data at {args.data}: see /work/shared/data/README.md.")
    load_before = os.getloadavg()
    measurements = {name: load(name) for name in SLICES}
    g = {name: grappa_stages(m) for name, m in measurements.items()}
    f = {name: fista_parts(m) for name, m in measurements.items()}
    floor = {name: fista_floor(m) for name, m in measurements.items()}
    loads = ", ".join(f"{a:.1f} -> {b:.1f}"
                      for a, b in zip(load_before, os.getloadavg()))
    print(f"ms of CPU time, one thread, minimum of {args.repeats} rounds; "
          f"load average (1, 5, 15 min) {loads}")
    table(g, "GRAPPA, ms")
    table(f, "one FISTA step, ms")
    table(floor, "floor of one FISTA step, ms")


if __name__ == "__main__":
    main()
