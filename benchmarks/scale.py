"""Memory and time of whole fastMRI-sized splits, streamed against in memory.

Generates fastMRI-layout knee trees (640 x 368 k-space, 15 coils, 35 slices
per volume, fastMRI's header with phase padding; data.fake_fastmri) of 1, 2,
4, 8 and 16 volumes in a temporary folder, disk permitting (free space is
checked first; skipped sizes are said), and measures, each in a fresh
process so that peaks do not mix:

(a) zero_filled on the whole test split, scored (what the objective and the
    solver do: data.split.make_split, one volume at a time);
(b) XPDNet trained for one epoch on the whole training split, streamed
    through the DataLoader (learned.training.Trainer);

each also through the in-memory path (every volume read and measured first,
as the benchmark did before it streamed) where it fits in memory. Then the
coil-map cache: the objective's set_data work (ESPIRiT maps of the test
split) on one volume with an empty cache, and again.

Peak memory is the resident set's high-water mark (ru_maxrss) of the
measuring process, and of its DataLoader workers apart. The files are copies
of two generated volumes (generating one takes ~30 s; what is measured reads
every file from disk). Run from the benchmark folder:

    python benchmarks/scale.py [--sizes 1 2 4 8 16] [--n-iter 3] [--folder DIR]

The table it prints is in docs/fastmri-scale.md.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VOLUME = dict(n_slices=35, n_coils=15, size=(640, 368), recon=(320, 320),
              padding=(16, 352))
VOLUME_GB = 35 * 15 * 640 * 368 * 8 / 1e9
N_BASE = 2  # distinct generated volumes; the others are copies of them


def make_tree(root: Path, n: int, log=print) -> None:
    """root/knee/multicoil_{train,val}/ with n files each (val: links to
    train's, so that the tree needs n volumes of disk)."""
    from benchmark_mri.data.fake_fastmri import write_volume

    train = root / "knee" / "multicoil_train"
    val = root / "knee" / "multicoil_val"
    train.mkdir(parents=True, exist_ok=True)
    val.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = train / f"file{1000 + i}.h5"
        if not path.exists():
            if i < N_BASE:
                log(f"generating {path.name}")
                write_volume(path, seed=i, **VOLUME)
            else:
                shutil.copyfile(train / f"file{1000 + i % N_BASE}.h5", path)
        link = val / path.name
        if not link.exists():
            link.symlink_to(path)


def _peaks() -> dict:
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(peak_mb=self_mb, workers_peak_mb=workers_mb)


def measure(task: str, root: Path, n: int, mode: str, n_iter: int) -> dict:
    """One measurement, in this process (see the module doc)."""
    import torch

    from benchmark_mri.classical import zero_filled
    from benchmark_mri.data.fastmri_splits import anatomy_split
    from benchmark_mri.data.maps_cache import MapsCache
    from benchmark_mri.data.split import LazySplit, MemorySplit
    from benchmark_mri.metrics import evaluate_volumes
    from benchmark_mri.physics.trajectories import make_sampling

    torch.manual_seed(0)
    sampling = make_sampling("cartesian", 4, "random", "fastmri_knee")
    split = "test" if task in ("zero_filled", "set_data") else "train"
    counts = dict(n_train_volumes=n if split == "train" else 0,
                  n_test_volumes=n if split == "test" else 1)
    refs = anatomy_split(root, "knee", "multicoil", n_slices=None, **counts)[split]
    start = time.perf_counter()
    if task == "set_data":  # what the objective's set_data does, ESPIRiT maps
        data = LazySplit(refs, sampling, False, "espirit",
                         MapsCache(root / "maps_cache"))
        data.prepare_maps()
        return dict(wall_s=time.perf_counter() - start, **_peaks())
    keep_target = split == "train"
    if mode == "memory":
        data = MemorySplit.from_volumes([r.read() for r in refs], sampling,
                                        keep_target, "acs")
    else:
        data = LazySplit(refs, sampling, keep_target, "acs")
    loaded = time.perf_counter()
    if task == "zero_filled":
        recon = data.map(zero_filled)  # what solvers/zero_filled.py does
        scores = evaluate_volumes(data.targets(), recon)
        result = dict(psnr=float(scores["psnr"].mean()))
    else:
        from benchmark_mri.learned import TrainSettings, build_model, model_config
        from benchmark_mri.learned.training import Trainer

        model = build_model(model_config("xpdnet", "cpu_small", n_iter=n_iter))
        trainer = Trainer(model, data, TrainSettings(n_epochs=1, batch_size=1,
                                                     lr=2e-3))
        epoch = time.perf_counter()
        loss = trainer.epoch()
        epoch_s = time.perf_counter() - epoch
        result = dict(loss=loss, epoch_s=epoch_s,
                      slices_per_s=data.n_slices_total / epoch_s)
    end = time.perf_counter()
    return dict(wall_s=end - start, load_s=loaded - start,
                slices=data.n_slices_total, **result, **_peaks())


def run_measure(*args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"measure {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1e6
    return float("inf")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--n-iter", type=int, default=3,
                        help="XPDNet unrolled iterations (cpu_small preset: 3)")
    parser.add_argument("--folder", help="where the trees go (default: a "
                        "temporary folder, removed after)")
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        task, root, n, mode, n_iter = args.measure
        print(json.dumps(measure(task, Path(root), int(n), mode, int(n_iter))))
        return
    folder = Path(args.folder or tempfile.mkdtemp(prefix="benchmark_mri_scale_"))
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free / 1e9
    sizes = [n for n in sorted(args.sizes) if n * VOLUME_GB * 1.05 + 1 < free]
    skipped = sorted(set(args.sizes) - set(sizes))
    if skipped:
        print(f"Skipped sizes {skipped}: {free:.0f} GB free in {folder}, "
              f"{VOLUME_GB:.2f} GB per volume.")
    rows = []
    try:
        make_tree(folder, max(sizes))
        cache = run_measure("set_data", folder, 1, "streamed", args.n_iter)
        again = run_measure("set_data", folder, 1, "streamed", args.n_iter)
        for n in sizes:
            for task in ("zero_filled", "xpdnet"):
                modes = ["streamed"]
                if 4 * n * VOLUME_GB + 2 < 0.8 * available_gb():
                    modes.append("memory")
                for mode in modes:
                    row = dict(task=task, volumes=n, mode=mode,
                               **run_measure(task, folder, n, mode, args.n_iter))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        if not args.folder:
            shutil.rmtree(folder, ignore_errors=True)
    print_table(rows, cache, again, args.n_iter)


def print_table(rows, cache, again, n_iter):
    print(f"\nset_data of one volume (35 slices, 15 coils, ESPIRiT): empty cache "
          f"{cache['wall_s']:.1f} s, cached {again['wall_s']:.2f} s: "
          f"{cache['wall_s'] / again['wall_s']:.0f}x faster")
    print(f"\nXPDNet: cpu_small preset, n_iter={n_iter}, batch 1, one epoch.\n")
    print("| task | volumes | path | peak MB (workers) | wall s | slices/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        rate = f"{r['slices_per_s']:.2f}" if "slices_per_s" in r else ""
        print(f"| {r['task']} | {r['volumes']} | {r['mode']} | {r['peak_mb']:.0f} "
              f"({r['workers_peak_mb']:.0f}) | {r['wall_s']:.1f} | {rate} |")
    for task in ("zero_filled", "xpdnet"):
        streamed = {r["volumes"]: r for r in rows
                    if r["task"] == task and r["mode"] == "streamed"}
        if len(streamed) > 1:
            lo, hi = min(streamed), max(streamed)
            print(f"{task} streamed, {hi} vs {lo} volume(s): peak memory "
                  f"{streamed[hi]['peak_mb'] / streamed[lo]['peak_mb']:.2f}x, "
                  f"time {streamed[hi]['wall_s'] / streamed[lo]['wall_s']:.1f}x")
        both = [(r, m) for r in rows for m in rows
                if r["task"] == m["task"] == task == "xpdnet"
                and r["volumes"] == m["volumes"] and r["mode"] == "streamed"
                and m["mode"] == "memory"]
        for r, m in both:
            print(f"xpdnet, {r['volumes']} volume(s): streamed / in-memory "
                  f"throughput {r['slices_per_s'] / m['slices_per_s']:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    main()
