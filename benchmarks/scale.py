"""What a run costs on whole fastMRI-sized splits: memory, time, reads, maps.

Generates a fastMRI-layout knee tree (640 x 368 k-space, 15 coils, 35 slices
per volume, fastMRI's header with phase padding; data.fake_fastmri) of the
largest size asked for, in a folder (disk permitting: free space is checked
first), and measures, each case in a fresh process so that peaks do not mix:

(a) zero_filled on the whole test split, scored, as a run does it (the
    objective's split with its default ESPIRiT maps, solvers/zero_filled.py's
    Split.map, the objective's metrics), side by side (A B A B) with the
    floor: a bare loop that reads each volume with h5py, inverse-FFTs it,
    takes the RSS and crops. Peak resident memory, seconds per volume (the
    solver's part and the scoring apart), and the coil maps computed (none:
    zero_filled reads none);
(b) XPDNet trained one epoch on the whole training split, streamed through
    the DataLoader, with 1 and with N volumes: peak memory of the main
    process and of its loader worker;
(c) `benchopt run . -s xpdnet` on a few slices of the tree with an empty
    maps cache: the ESPIRiT maps it computed (none: XPDNet takes ACS maps);
(d) ista_l1 (solvers/ista_l1.py's WaveletL1Split) over a few iterations on
    the test split's first slices: how often each test slice's k-space was
    read (once).

Peak memory is the resident set's high-water mark (ru_maxrss) of the
measuring process, and of its DataLoader workers apart. The files are copies
of two generated volumes (generating one takes about a minute; what is
measured reads every file from disk). Run from the benchmark folder:

    python benchmarks/scale.py [--volumes 16] [--folder DIR] [--repeats 2]

The tables it prints are in docs/fastmri-scale.md.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VOLUME = dict(n_slices=35, n_coils=15, size=(640, 368), recon=(320, 320),
              padding=(16, 352))
VOLUME_GB = 35 * 15 * 640 * 368 * 8 / 1e9
N_BASE = 2  # distinct generated volumes; the others are copies of them
BENCHMARK = Path(__file__).resolve().parents[1]


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


def _refs(root: Path, split: str, n: int, n_slices=None):
    from benchmark_mri.data.fastmri_splits import anatomy_split

    counts = dict(n_train_volumes=n if split == "train" else 0,
                  n_test_volumes=n if split == "test" else 1)
    return anatomy_split(root, "knee", "multicoil", n_slices=n_slices,
                         **counts)[split]


def measure_floor(root: Path, n: int) -> dict:
    """The floor of (a): h5py read, inverse FFT, RSS, crop; nothing else."""
    import h5py
    import torch

    from benchmark_mri.data.transforms import center_crop
    from benchmark_mri.physics import ifft2c, rss

    paths = [r.info.path for r in _refs(root, "test", n)]
    start = time.perf_counter()
    out = []
    for path in paths:
        with h5py.File(path, "r") as f:
            kspace = torch.from_numpy(f["kspace"][()])
        out.append(center_crop(rss(ifft2c(kspace)), (320, 320)))
        del kspace
    wall = time.perf_counter() - start
    return dict(solver_s=wall, scoring_s=0.0, wall_s=wall, volumes=n, **_peaks())


def measure_zero_filled(root: Path, n: int, cache: Path) -> dict:
    """(a): the objective's split and metrics, zero_filled's Split.map."""
    from benchmark_mri.classical import zero_filled
    from benchmark_mri.data.maps_cache import MapsCache
    from benchmark_mri.data.split import make_split
    from benchmark_mri.metrics import evaluate_volumes
    from benchmark_mri.physics.trajectories import make_sampling
    from benchmark_mri.threads import use_thread_budget

    use_thread_budget()  # what the objective's set_data does
    sampling = make_sampling("cartesian", 4, "random", "fastmri_knee")
    start = time.perf_counter()
    split = make_split(_refs(root, "test", n), sampling, False, "espirit",
                       MapsCache(cache))
    recon = split.map(zero_filled)
    solved = time.perf_counter()
    scores = evaluate_volumes(split.targets(), recon)
    end = time.perf_counter()
    return dict(solver_s=solved - start, scoring_s=end - solved, wall_s=end - start,
                volumes=n, psnr=float(scores["psnr"].mean()),
                maps_computed=len(list(cache.rglob("*.npy"))), **_peaks())


def measure_xpdnet_epoch(root: Path, n: int, n_iter: int) -> dict:
    """(b): one streamed XPDNet epoch on n training volumes."""
    import torch

    from benchmark_mri.data.split import make_split
    from benchmark_mri.learned import TrainSettings, build_model, model_config
    from benchmark_mri.learned.training import Trainer
    from benchmark_mri.physics.trajectories import make_sampling
    from benchmark_mri.threads import use_thread_budget

    use_thread_budget()  # what the objective's set_data does
    torch.manual_seed(0)
    sampling = make_sampling("cartesian", 4, "random", "fastmri_knee")
    split = make_split(_refs(root, "train", n), sampling, True, "acs")
    model = build_model(model_config("xpdnet", "cpu_small", n_iter=n_iter))
    trainer = Trainer(model, split, TrainSettings(n_epochs=1, batch_size=1, lr=2e-3),
                      name="xpdnet")
    start = time.perf_counter()
    loss = trainer.epoch()
    epoch_s = time.perf_counter() - start
    return dict(volumes=n, slices=split.n_slices_total, loss=loss, epoch_s=epoch_s,
                slices_per_s=split.n_slices_total / epoch_s,
                workers=trainer.loader.num_workers, **_peaks())


def measure_ista_reads(root: Path, n_slices: int, n_iter: int) -> dict:
    """(d): reads of each test slice's k-space over ista_l1's iterations."""
    from collections import Counter

    from benchmark_mri.classical import WaveletL1Split
    from benchmark_mri.data import fastmri
    from benchmark_mri.data.split import make_split
    from benchmark_mri.physics.trajectories import make_sampling

    reads = Counter()
    read = fastmri.VolumeRef.read

    def counted(ref, first=0, count=None, with_target=True):
        count = ref.n_slices - first if count is None else count
        reads.update((ref.name, s) for s in range(first, first + count))
        return read(ref, first, count, with_target)

    fastmri.VolumeRef.read = counted
    sampling = make_sampling("cartesian", 4, "random", "fastmri_knee")
    split = make_split(_refs(root, "test", 2, n_slices), sampling, False, "acs")
    algs = WaveletL1Split(split, 1e-3, log=lambda _: None)
    for _ in range(n_iter):
        algs.step()
    algs.result()
    return dict(slices=split.n_slices_total, iterations=n_iter,
                reads=sum(reads.values()), max_reads=max(reads.values()))


def measure_benchopt_xpdnet(root: Path) -> dict:
    """(c): a real `benchopt run . -s xpdnet`; the ESPIRiT maps it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FASTMRI_ROOT": str(root), "BENCHOPT_RAISE_ON_ERROR": "1",
               "BENCHMARK_MRI_CACHE": str(Path(tmp) / "cache"),
               "BENCHMARK_MRI_CHECKPOINTS": str(Path(tmp) / "checkpoints")}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "benchopt", "run", str(BENCHMARK), "--no-plot",
             "--no-html", "--no-cache", "-s", "xpdnet[n_epochs=1,n_iter=1]", "-d",
             "fastmri_knee[n_train_volumes=1,n_test_volumes=2,n_slices=2]",
             "--output", str(Path(tmp) / "run")],
            env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
        maps = list((Path(tmp) / "cache").rglob("*.npy"))
        return dict(wall_s=time.perf_counter() - start, maps_computed=len(maps))


def run_measure(*args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"measure {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure_here(task: str, root: Path, n: int, extra: str) -> dict:
    if task == "floor":
        return measure_floor(root, n)
    if task == "zero_filled":
        with tempfile.TemporaryDirectory() as cache:
            return measure_zero_filled(root, n, Path(cache))
    if task == "xpdnet":
        return measure_xpdnet_epoch(root, n, int(extra))
    if task == "ista_reads":
        return measure_ista_reads(root, 2, int(extra))
    if task == "benchopt_xpdnet":
        return measure_benchopt_xpdnet(root)
    raise ValueError(task)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=16,
                        help="volumes of the tree's splits (default 16)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="pairs of (a)'s side-by-side runs (default 2)")
    parser.add_argument("--n-iter", type=int, default=3,
                        help="XPDNet unrolled iterations (cpu_small preset: 3)")
    parser.add_argument("--folder", help="where the tree goes (default: a "
                        "temporary folder, removed after; an existing tree is reused)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["a", "b", "c", "d"],
                        help="measurements to leave out")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        task, root, n, extra = args.measure
        print(json.dumps(_measure_here(task, Path(root), int(n), extra)))
        return
    folder = Path(args.folder or tempfile.mkdtemp(prefix="benchmark_mri_scale_"))
    folder.mkdir(parents=True, exist_ok=True)
    n = args.volumes
    present = len(list((folder / "knee" / "multicoil_train").glob("*.h5"))) \
        if (folder / "knee").is_dir() else 0
    free = shutil.disk_usage(folder).free / 1e9
    if (n - present) * VOLUME_GB * 1.05 + 1 > free:
        sys.exit(f"{free:.0f} GB free in {folder}: {n} volumes need "
                 f"{n * VOLUME_GB:.0f} GB; use --volumes or --folder.")
    print(f"load average before: {os.getloadavg()}", flush=True)
    try:
        make_tree(folder, n)
        report(folder, n, args)
    finally:
        if not args.folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")


def report(folder: Path, n: int, args):
    if "a" not in args.skip:
        rows = {"floor": [], "zero_filled": []}
        for _ in range(args.repeats):  # side by side: A B A B
            for task in rows:
                rows[task].append(run_measure(task, folder, n, "-"))
                print(json.dumps({task: rows[task][-1]}), flush=True)
        floor, zf = rows["floor"], rows["zero_filled"]
        per_volume = {k: statistics.median(r["wall_s"] for r in v) / n
                      for k, v in rows.items()}
        solver = statistics.median(r["solver_s"] for r in zf) / n
        print(f"\n(a) {n} test volumes ({n * 35} slices), medians of {args.repeats}:")
        print("| | peak MB | s per volume | of which solver | of which scoring |")
        print("|---|---|---|---|---|")
        floor_mb = max(r["peak_mb"] for r in floor)
        print(f"| floor (h5py, ifft, RSS, crop) | {floor_mb:.0f} "
              f"| {per_volume['floor']:.2f} | | |")
        print(f"| zero_filled, scored | {max(r['peak_mb'] for r in zf):.0f} | "
              f"{per_volume['zero_filled']:.2f} | {solver:.2f} | "
              f"{statistics.median(r['scoring_s'] for r in zf) / n:.2f} |")
        ratio = per_volume["zero_filled"] / per_volume["floor"]
        alone = solver / per_volume["floor"]
        print(f"zero_filled / floor: {ratio:.2f} x per volume (solver alone "
              f"{alone:.2f} x); "
              f"ESPIRiT maps computed: {max(r['maps_computed'] for r in zf)}")
    if "b" not in args.skip:
        one = run_measure("xpdnet", folder, 1, args.n_iter)
        many = run_measure("xpdnet", folder, n, args.n_iter)
        print(f"\n(b) XPDNet (cpu_small, n_iter={args.n_iter}, batch 1), one epoch, "
              f"streamed ({many['workers']} loader worker(s)):")
        print("| training volumes (slices) | main peak MB | worker peak MB | "
              "main + worker | slices/s |")
        print("|---|---|---|---|---|")
        for r in (one, many):
            print(f"| {r['volumes']} ({r['slices']}) | {r['peak_mb']:.0f} | "
                  f"{r['workers_peak_mb']:.0f} | "
                  f"{r['peak_mb'] + r['workers_peak_mb']:.0f} | "
                  f"{r['slices_per_s']:.2f} |")
        total = [r["peak_mb"] + r["workers_peak_mb"] for r in (one, many)]
        print(f"{n} vs 1 volume: main + worker peak {total[1] / total[0]:.2f} x")
    if "c" not in args.skip:
        r = run_measure("benchopt_xpdnet", folder, 2, "-")
        print(f"\n(c) benchopt run . -s xpdnet on 2 test volumes: ESPIRiT maps "
              f"computed: {r['maps_computed']} ({r['wall_s']:.0f} s)")
    if "d" not in args.skip:
        r = run_measure("ista_reads", folder, 2, 5)
        print(f"\n(d) ista_l1, {r['iterations']} iterations on {r['slices']} test "
              f"slices: {r['reads']} slice reads, at most {r['max_reads']} per slice")


if __name__ == "__main__":
    main()
