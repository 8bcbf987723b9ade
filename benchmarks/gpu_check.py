"""The CUDA path, checked and timed in one short run (under 8 minutes on one GPU).

On a generated fastMRI-layout knee tree (640 x 368 k-space, 15 coils,
fastMRI's padding; --tiny: 64 x 48, 4 coils, for a CPU test), on --device
(cuda by default) against the CPU where it says so:

1. training steps of XPDNet (the 2020 challenge size: 25 iterations, medium
   MWCNN, refined maps) and E2E-VarNet (fastMRI's paper size: 12 cascades,
   18 channels), batch 1: slices per second and peak GPU memory;
2. the DataLoader feeding them (reading a slice, undersampling it, its ACS
   maps, in the loader's worker processes): slices per second, against the
   faster training step: is the GPU starved?
3. ESPIRiT maps of one slice on the device against the CPU: seconds each and
   the largest difference of the two maps;
4. the NUFFT (radial, 320 x 320 grid, 15 coils): forward + adjoint on the
   device against the CPU;
5. a FISTA step of ista_l1 (its defaults: the wavelet as torch convolutions,
   SENSE with ACS maps) on a test volume, on the device against the CPU, and
   how far apart the two images are after 20 steps.

    python benchmarks/gpu_check.py                 # a GPU machine
    python benchmarks/gpu_check.py --tiny --device cpu   # seconds, anywhere

Prints a markdown table (the one in docs/fastmri-scale.md#on-a-gpu) and, with
--json FILE, writes the numbers.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark_mri.classical import WaveletL1  # noqa: E402
from benchmark_mri.data.fake_fastmri import write_volume  # noqa: E402
from benchmark_mri.data.fastmri_splits import anatomy_split  # noqa: E402
from benchmark_mri.data.smaps import estimate_smaps  # noqa: E402
from benchmark_mri.data.split import make_split  # noqa: E402
from benchmark_mri.learned import TrainSettings, build_model, model_config  # noqa: E402
from benchmark_mri.learned.data import loaded_batch, training_loader  # noqa: E402
from benchmark_mri.learned.training import Trainer, train_step  # noqa: E402
from benchmark_mri.physics import CoilNufft  # noqa: E402
from benchmark_mri.physics.trajectories import make_sampling, radial  # noqa: E402

FULL = dict(size=(640, 368), recon=(320, 320), padding=(16, 352), n_coils=15,
            models=[("xpdnet", "leaderboard", {}), ("varnet", "paper", {})], nufft=320)
TINY = dict(size=(64, 48), recon=(32, 32), padding=(4, 46), n_coils=4,
            models=[("xpdnet", "cpu_small", dict(n_iter=1)),
                    ("varnet", "cpu_small", dict(n_cascades=1, channels=4))], nufft=32)


def make_tree(root: Path, setting: dict, n_slices: int) -> None:
    for split, seeds in (("train", (0, 1)), ("val", (2,))):
        for seed in seeds:
            path = root / "knee" / f"multicoil_{split}" / f"file{1000 + seed}.h5"
            if not path.exists():
                write_volume(path, seed, n_slices=n_slices, n_coils=setting["n_coils"],
                             size=setting["size"], recon=setting["recon"],
                             padding=setting["padding"])


def synchronized(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def timed(fn, device, repeats: int) -> float:
    """Median seconds of fn() over `repeats` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = synchronized(device)
        fn()
        times.append(synchronized(device) - start)
    return sorted(times)[len(times) // 2]


def check_training(split, name, preset, overrides, device, steps):
    torch.manual_seed(0)
    model = build_model(model_config(name, preset, **overrides)).to(device)
    trainer = Trainer(model, split, TrainSettings(n_epochs=1, batch_size=1),
                      device, workers=0)
    raw = next(iter(training_loader(split, 1, torch.Generator().manual_seed(0),
                                    workers=0)))
    batch = loaded_batch(raw, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step():
        train_step(model, batch, trainer.loss_fn, trainer.optimizer)
    seconds = timed(step, device, steps)
    peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
            else float("nan"))
    return dict(what=f"{name} ({preset}) training step", device=str(device),
                slices_per_s=1 / seconds, peak_gpu_mb=peak)


def check_loader(split, n_batches):
    loader = training_loader(split, 1, torch.Generator().manual_seed(0),
                             pin_memory=torch.cuda.is_available())
    iterator = iter(loader)
    next(iterator)  # workers started, first slice read
    start = time.perf_counter()
    n = 0
    for _ in range(n_batches):
        try:
            next(iterator)
        except StopIteration:
            break
        n += 1
    return dict(what=f"DataLoader, {loader.num_workers} worker(s)", device="cpu",
                slices_per_s=n / (time.perf_counter() - start))


def check_espirit(split, device):
    m = split[0]
    y, mask = m.y[:1], m.mask[:1]
    cpu = timed(lambda: estimate_smaps(y, mask, "espirit"), torch.device("cpu"), 1)
    rows = [dict(what="ESPIRiT, one slice", device="cpu", seconds=cpu)]
    if device.type != "cpu":
        yd, maskd = y.to(device), mask.to(device)
        on = timed(lambda: estimate_smaps(yd, maskd, "espirit"), device, 3)
        diff = (estimate_smaps(yd, maskd, "espirit").cpu()
                - estimate_smaps(y, mask, "espirit")).abs().max()
        rows.append(dict(what="ESPIRiT, one slice", device=str(device), seconds=on,
                         max_abs_diff_vs_cpu=float(diff)))
    return rows


def check_nufft(size, n_coils, device, repeats):
    traj = radial(size, 4)
    x = torch.randn(1, size, size, dtype=torch.complex64)
    rows = []
    for dev in dict.fromkeys([torch.device("cpu"), device]):
        op = CoilNufft(traj, (size, size)).to(dev)
        coils = x.repeat(n_coils, 1, 1).to(dev)
        seconds = timed(lambda op=op, coils=coils: op.adjoint(op(coils)), dev, repeats)
        rows.append(dict(what=f"NUFFT forward + adjoint ({size}^2, {n_coils} coils)",
                         device=str(dev), seconds=seconds))
    return rows


def check_wavelet_l1(split, device, repeats, n_iter=20):
    op, y = split[0].data_consistency()
    rows, images = [], []
    for dev in dict.fromkeys([torch.device("cpu"), device]):
        alg = WaveletL1(op.to(dev), y.to(dev), 1e-3)
        seconds = timed(alg.step, dev, repeats)
        while alg.n_iter < n_iter:
            alg.step()
        images.append(alg.magnitude().cpu())
        rows.append(dict(what=f"ista_l1 FISTA step ({y.shape[0]} slices)",
                         device=str(dev), seconds=seconds))
    if len(images) > 1:
        diff = (images[1] - images[0]).abs().max() / images[0].abs().max()
        rows[-1]["max_rel_diff_vs_cpu"] = float(diff)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true",
                        help="a 64 x 48, 4-coil tree and small models (a CPU test)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--slices", type=int, default=6, help="slices per volume")
    parser.add_argument("--folder", help="where the tree goes (default: temporary)")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device here; use --device cpu.")
    setting = TINY if args.tiny else FULL
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.folder or tmp)
        make_tree(root, setting, args.slices)
        data = anatomy_split(root, "knee", "multicoil", 2, 1, n_slices=None)
        sampling = make_sampling("cartesian", 4, "random", "fastmri_knee")
        train = make_split(data["train"], sampling, True, "acs")
        test = make_split(data["test"], sampling, False, "acs")
        rows = [check_training(train, name, preset, overrides, device, args.steps)
                for name, preset, overrides in setting["models"]]
        rows.append(check_loader(train, 2 * args.slices - 2))
        rows += check_espirit(test, device)
        rows += check_nufft(setting["nufft"], setting["n_coils"], device, args.steps)
        rows += check_wavelet_l1(test, device, args.steps)
    fastest = max(r["slices_per_s"] for r in rows if "training" in r["what"])
    loader = next(r for r in rows if r["what"].startswith("DataLoader"))
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else "CPU")
    print(f"\n{name}, torch {torch.__version__}, {torch.get_num_threads()} CPU "
          f"threads, {os.cpu_count()} cores; {time.perf_counter() - start:.0f} s\n")
    print("| what | device | slices/s | seconds | peak GPU MB | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        note = ""
        if "max_abs_diff_vs_cpu" in r:
            note = f"max diff vs CPU {r['max_abs_diff_vs_cpu']:.1e}"
        if "max_rel_diff_vs_cpu" in r:
            note = (f"images after 20 steps {r['max_rel_diff_vs_cpu']:.1e} apart "
                    "(relative to the image's max)")
        if r is loader:
            note = ("the loader keeps up with the fastest step" if
                    r["slices_per_s"] >= fastest else
                    f"starved: the fastest step takes {fastest:.2f} slices/s")
        print(f"| {r['what']} | {r['device']} | {_num(r.get('slices_per_s'))} | "
              f"{_num(r.get('seconds'))} | {_num(r.get('peak_gpu_mb'), '.0f')} | "
              f"{note} |")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(device=name, rows=rows), indent=1))
    return rows


def _num(value, fmt=".3g"):
    return "" if value is None or value != value else format(value, fmt)


if __name__ == "__main__":
    main()
