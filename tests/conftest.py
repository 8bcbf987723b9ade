"""Shared fixtures and helpers: seeded, tiny, CPU-only."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]

# Tiny tensors gain nothing from intra-op threads, and on a busy machine
# oversubscribed threads made tiny training tests many times slower.
torch.set_num_threads(1)
# and the objective's thread budget (benchmark_mri/threads.py) keeps it so, in
# this process and in the benchopt runs the tests start.
os.environ.setdefault("BENCHMARK_MRI_THREADS", "1")
SHARED_DATA = REPO.parent / "shared" / "data"
# A phantom that runs in seconds through benchopt.
TINY = "image_size=32,n_coils=4,n_train_volumes=1,n_test_volumes=2,n_slices=2"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _maps_cache(tmp_path_factory):
    """Coil maps cached in a temporary folder, not in the benchmark's."""
    os.environ.setdefault("BENCHMARK_MRI_CACHE", str(tmp_path_factory.mktemp("cache")))


def complex_randn(*shape, generator=None):
    """Standard complex Gaussian tensor, complex64."""
    real = torch.randn(*shape, 2, generator=generator)
    return torch.view_as_complex(real).to(torch.complex64)


def benchopt_command(*args, output=None, env=None, raise_on_error=True,
                     cache=None, benchmark=REPO):
    """(command, environment) of `benchopt_run`, to start it yourself."""
    variables = {k: v for k, v in os.environ.items() if k != "BENCHOPT_RAISE_ON_ERROR"}
    if raise_on_error:
        variables["BENCHOPT_RAISE_ON_ERROR"] = "1"
    if cache is not None:
        variables["BENCHOPT_CACHE"] = str(cache)
    for name, value in (env or {}).items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = str(value)
    cmd = [sys.executable, "-m", "benchopt", "run", str(benchmark), "--no-plot",
           "--no-html", *([] if cache is not None else ["--no-cache"]), "--seed", "0",
           *map(str, args)]
    if output is not None:
        cmd += ["--output", str(output)]
    return cmd, variables


def benchopt_run(*args, output=None, env=None, raise_on_error=True, cache=None,
                 benchmark=REPO):
    """`python -m benchopt run <benchmark> --no-plot --no-html --no-cache
    --seed 0 *args [--output output]` in a subprocess (tests calling it are
    marked `slow`). BENCHOPT_RAISE_ON_ERROR=1 unless raise_on_error=False, so
    a failing solver fails the run; env: variables to set for the run (a
    None value unsets one); cache: a folder for benchopt's result cache
    (BENCHOPT_CACHE), which then replaces --no-cache; benchmark: the
    benchmark folder (this one by default). Returns the CompletedProcess
    (stdout, stderr)."""
    cmd, variables = benchopt_command(*args, output=output, env=env, cache=cache,
                                      raise_on_error=raise_on_error,
                                      benchmark=benchmark)
    return subprocess.run(cmd, capture_output=True, text=True, env=variables,
                          cwd=REPO)


@contextlib.contextmanager
def dask_cluster_config(folder: Path):
    """A two-worker local Dask cluster, and the path of configs/parallel_dask.yml
    pointed at it (skips when distributed is not installed)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  processes=True, dashboard_address=None) as cluster:
        config = yaml.safe_load((REPO / "configs" / "parallel_dask.yml").read_text())
        config["dask_address"] = cluster.scheduler_address
        config_file = Path(folder) / "dask.yml"
        config_file.write_text(yaml.safe_dump(config))
        yield config_file


def failing_solver(name: str, error: str) -> str:
    """The source of a benchopt solver file whose run raises `error` (a Python
    expression, e.g. "KeyboardInterrupt"), to drop into a run with -s PATH."""
    return f'''from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "{name}"
    sampling_strategy = "run_once"

    def set_objective(self, test, train):
        pass

    def run(self, _):
        raise {error}

    def get_result(self):
        return dict(recon=[])
'''
