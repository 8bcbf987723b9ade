"""`benchmark-mri plan`: what a run will read, compute and train, and what it
will cost, before it runs.

For the datasets and solvers a run selects (a `--config` file's `dataset` /
`solver` lists, or `-d` / `-s` patterns as `benchopt run` takes them; a
pattern given on the command line replaces the config's list): the volumes
and slices of each split; for each solver, whether it reads the objective's
coil maps and how many of them the disk cache already holds, the training it
runs or the checkpoint it reuses; and time estimates from throughputs
measured here on the first slices of the run's own data, with this machine's
device and threads (said in the output). Nothing is written: no map,
checkpoint or result file.

A solver says it never reads the objective's maps with the class attribute
`reads_coil_maps = False` (zero_filled, grappa); a learned solver reads them
with smaps="objective" only.
"""

import contextlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .data.coil_maps import CACHED_METHODS
from .progress import duration

N_MEASURED = 2  # slices a throughput is measured on (repeats: the first warms up)


@dataclass
class SolverPlan:
    """What one solver does on one dataset (module doc)."""

    name: str
    skipped: str | None = None
    reads_maps: bool = False
    training: str = ""  # "" (none), "to train", "cached", or pretrained weights
    checkpoint: str = ""  # where the trained weights are (or will be) cached
    train_epochs: int = 0
    seconds: dict = field(default_factory=dict)  # unit -> seconds per slice


def run_patterns(config: Path | None, datasets=(), solvers=()):
    """(dataset patterns, solver patterns) of a config file, replaced by
    those given (benchopt's own precedence)."""
    read = {}
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"--config {path}: no such file.")
        read = yaml.safe_load(path.read_text()) or {}
    datasets = list(datasets) or list(read.get("dataset", []))
    solvers = list(solvers) or list(read.get("solver", []))
    if not datasets or not solvers:
        raise ValueError("benchmark-mri plan needs datasets and solvers: give "
                         "--config FILE (with `dataset:` and `solver:` lists) "
                         "or -d DATASET -s SOLVER.")
    return [str(d) for d in datasets], [str(s) for s in solvers]


def _instances(benchmark, patterns, kind):
    from benchopt.benchmark import _list_parametrized_classes

    check = getattr(benchmark, f"check_{kind}_patterns")
    return [instance for instance, installed in
            _list_parametrized_classes(*check(patterns)) if installed]


def plan(benchmark_dir: Path, config: Path | None = None, datasets=(), solvers=(),
         measure: bool = True, seed: int = 0, log=print) -> list:
    """Print the plan of a run (module doc); returns [(dataset, [SolverPlan])]."""
    from benchopt.benchmark import Benchmark
    from benchopt.utils.run_context import RunContext

    dataset_patterns, solver_patterns = run_patterns(config, datasets, solvers)
    benchmark = Benchmark(Path(benchmark_dir))
    objective_class = benchmark.get_benchmark_objective()
    plans = []
    for dataset in _instances(benchmark, dataset_patterns, "dataset"):
        objective = objective_class.get_instance()
        context = RunContext(base_seed=str(seed), objective_name=str(objective),
                             dataset_name=str(dataset), repetition=0)
        context.attach(objective, dataset, None)
        data = dataset.get_data()
        log(f"{dataset}")
        if "unavailable" in data:
            log(f"  not on this machine: {data['unavailable']}")
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            objective.set_data(**data)
        problem = objective.get_objective()
        test, train = problem["test"], problem["train"]
        # Measuring computes maps in memory: the disk cache is only looked at.
        problem = dict(problem, test=_without_disk_cache(test))
        _say_splits(test, train, log)
        solver_plans = []
        for solver in _instances(benchmark, solver_patterns, "solver"):
            context.solver_name = str(solver)
            context.attach(objective, dataset, solver)
            solver_plans.append(_plan_solver(solver, problem, measure))
        total = _say_maps(objective, test, solver_plans, measure, log)
        total += _say_solvers(solver_plans, test, train, log)
        if measure:
            iterative = [p.name.split("[")[0] for p in solver_plans
                         if "iteration" in p.seconds]
            log(f"  estimated total: {duration(total)}" + (
                f", plus the iterations of {', '.join(iterative)} (they stop on "
                "their own cost, or at --timeout)" if iterative else ""))
        plans.append((str(dataset), solver_plans))
    if measure:
        log(f"Throughputs measured here: {_machine()}, on the first "
            f"{N_MEASURED} slices of each run's data; the run's machine may differ."
            + _load_note())
    return plans


def _load_note() -> str:
    """The machine's load, when other jobs may have slowed the measurements."""
    import os

    from .threads import usable_cores

    load, cores = os.getloadavg()[0], usable_cores()
    if load < 0.75 * cores:
        return ""
    return (f" The load average was {load:.1f} on {cores} cores: other jobs slowed "
            "these measurements, so the estimates run long.")


def _without_disk_cache(split):
    from .data.coil_maps import CoilMaps
    from .data.maps_cache import MapsCache
    from .data.split import Split

    return Split(split.source, split.sampling, split.keep_target,
                 CoilMaps(split.maps.method, MapsCache(None)))


def _say_splits(test, train, log):
    for name, split in (("test", test), ("training", train)):
        if not len(split):
            log(f"  {name} split: none")
            continue
        shape = " x ".join(map(str, split.acquisition(0)[:3]))
        where = "in memory" if split.in_memory else "read from files"
        volumes = f"{len(split)} volume" + ("s" if len(split) != 1 else "")
        log(f"  {name} split: {volumes}, {split.n_slices_total} slices "
            f"(k-space {shape}, {where})")


def _plan_solver(solver, problem, measure: bool) -> SolverPlan:
    out = SolverPlan(str(solver))
    with contextlib.redirect_stdout(io.StringIO()):
        skip, reason = solver.skip(**problem)
    if skip:
        out.skipped = reason
        return out
    learned = hasattr(solver, "n_epochs")
    out.reads_maps = (getattr(solver, "smaps", "acs") == "objective" if learned
                      else getattr(solver, "reads_coil_maps", True))
    if learned:
        _plan_training(solver, problem, out, measure)
    elif measure:
        _measure_classical(solver, problem, out)
    return out


def _plan_training(solver, problem, out: SolverPlan, measure: bool):
    with contextlib.redirect_stdout(io.StringIO()):
        solver.set_objective(**problem)
    run = solver.learned
    training = run.training  # learned/lifecycle.py
    out.train_epochs = training.settings.n_epochs
    if training.cache is not None:
        out.checkpoint = str(training.cache.path(training.name, training.key))
    if training.trainer is None:
        out.training = "pretrained weights, no training"
    elif out.checkpoint and Path(out.checkpoint).exists():
        out.training = "cached"
    else:
        out.training = "to train"
    if not measure:
        return
    if training.trainer is not None and out.training == "to train":
        out.seconds["training"] = _time_training_step(training.trainer)
    reconstruct = getattr(run, "_reconstruct", None)
    if reconstruct is not None:
        head = run.test.head(N_MEASURED)
        m = head[0]
        out.seconds["inference"] = _per_slice(lambda: reconstruct(m), m.y.shape[0])


def _time_training_step(trainer) -> float:
    """Seconds per training slice: a step of `trainer` (learned.Trainer) on
    one batch, after a first one."""
    import torch

    from .learned.data import loaded_batch, training_loader
    from .learned.training import train_step

    loader = training_loader(trainer.train, trainer.settings.batch_size,
                             torch.Generator().manual_seed(0), workers=0)
    raw = next(iter(loader))
    batch = loaded_batch(raw, trainer.device, trainer.settings.density_compensation)

    def step():
        train_step(trainer.model, batch, trainer.loss_fn, trainer.optimizer,
                   trainer.step_fn, trainer.settings.grad_clip)
    return _per_slice(step, batch.y.shape[0])


def _measure_classical(solver, problem, out: SolverPlan):
    """The solver run on the first slices of the test split: seconds per slice
    (run_once) or per slice and iteration (callback)."""
    head = problem["test"].head(N_MEASURED)
    n = head.n_slices_total
    with contextlib.redirect_stdout(io.StringIO()):
        solver.set_objective(test=head, train=problem["train"])
        if getattr(solver, "sampling_strategy", "") == "callback":
            calls = []

            def callback():
                calls.append(time.perf_counter())
                return len(calls) <= 6
            solver.run(callback)
            steps = [b - a for a, b in zip(calls[1:], calls[2:])]
            out.seconds["iteration"] = (min(steps) / n if steps else float("nan"))
        else:
            out.seconds["reconstruction"] = _per_slice(lambda: solver.run(None), n)


def _per_slice(fn, n_slices: int, repeats: int = 2) -> float:
    """Seconds per slice of fn() on n_slices: the best of `repeats` runs
    after a warm-up (allocations, lazy imports, the first maps read)."""
    with contextlib.redirect_stdout(io.StringIO()):
        fn()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    return best / max(n_slices, 1)


def _say_maps(objective, test, plans, measure: bool, log) -> float:
    """Say the coil maps to compute; returns their estimated seconds."""
    readers = [p.name.split("[")[0] for p in plans if p.reads_maps and not p.skipped]
    method = objective.smaps
    if not readers:
        log(f"  coil maps ({method}): read by no solver here, none computed")
        return 0.0
    who = ", ".join(sorted(set(readers)))
    if not test.is_cartesian:
        log(f"  coil maps: from the k-space centre of each non-Cartesian "
            f"measurement, for {who}")
        return 0.0
    if method not in CACHED_METHODS:
        log(f"  coil maps ({method}): computed when read, for {who} (cheap, "
            "not cached)")
        return 0.0
    if test.in_memory:
        todo = test.n_slices_total
        log(f"  coil maps ({method}): {todo} slices computed in memory by each run, "
            f"for {who}")
    else:
        missing = [i for i in range(len(test)) if test.missing_maps(i)]
        todo = sum(test.n_slices(i) for i in missing)
        cached = test.n_slices_total - todo
        log(f"  coil maps ({method}): {cached} of {test.n_slices_total} slices "
            f"cached, {todo} to compute, for {who}")
    if not (measure and todo):
        return 0.0
    m = test.head(N_MEASURED)[0]
    seconds = _per_slice(lambda: test.maps.estimate(m.y, m.mask, None, m.name),
                         m.y.shape[0], repeats=1)
    log(f"    {seconds:.3g} s per slice: {duration(seconds * todo)}")
    return seconds * todo


def _say_solvers(plans, test, train, log) -> float:
    """Say each solver's work; returns the estimated seconds of its training
    and test reconstructions (iterations apart)."""
    total = 0.0
    for p in plans:
        if p.skipped:
            log(f"  {p.name}: skipped ({p.skipped})")
            continue
        parts = []
        if p.training == "to train":
            slices = train.n_slices_total
            text = f"trains {p.train_epochs} epochs x {slices} slices"
            if "training" in p.seconds:
                seconds = p.seconds["training"] * slices * p.train_epochs
                total += seconds
                text += (f" ({p.seconds['training']:.3g} s per slice: "
                         f"{duration(seconds)})")
            parts.append(text)
        elif p.training:
            parts.append(f"training: {p.training}"
                         + (f" ({p.checkpoint})" if p.training == "cached" else ""))
        for unit in ("reconstruction", "inference"):
            if unit in p.seconds:
                total += p.seconds[unit] * test.n_slices_total
                parts.append(f"{unit} {p.seconds[unit]:.3g} s per slice: "
                             f"{duration(p.seconds[unit] * test.n_slices_total)}")
        if "iteration" in p.seconds:
            parts.append(f"{p.seconds['iteration']:.3g} s per slice and iteration: "
                         f"{duration(p.seconds['iteration'] * test.n_slices_total)} "
                         "per iteration over the test split")
        log(f"  {p.name}: " + ("; ".join(parts) or "nothing measured"))
    return total


def _machine() -> str:
    import torch

    if torch.cuda.is_available():
        return (f"CPU with {torch.get_num_threads()} torch threads and "
                f"{torch.cuda.get_device_name()}")
    return f"CPU only, {torch.get_num_threads()} torch threads"
