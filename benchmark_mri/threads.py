"""How many threads torch and BLAS use in a benchmark process: its share of
the cores.

torch and BLAS take every core by default, in every process: two tasks of
`benchopt run -j 2`, two Dask workers or a SLURM job beside others then
fight over the cores (oversubscription: slower than one at a time). Each
process that runs benchmark tasks calls `use_thread_budget()` (the
objective's set_data does), which sets torch's and BLAS's thread pools to
`thread_budget()`:

1. $BENCHMARK_MRI_THREADS, when set: a positive integer (the override);
2. in a SLURM job, its allocation: $SLURM_CPUS_PER_TASK;
3. in a Dask worker, the threads the cluster gave it (cores / workers on a
   local cluster);
4. in a joblib worker (benchopt -j N runs tasks in loky processes), joblib's
   share: cores // N, which it puts in $OMP_NUM_THREADS;
5. otherwise $OMP_NUM_THREADS when set, else every usable core.
"""

import multiprocessing
import os

ENV = "BENCHMARK_MRI_THREADS"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive(name: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(
            f"{name}={value!r}: the threads torch and BLAS use in each benchmark "
            "process must be a positive integer (e.g. 4); unset it to give each "
            "parallel task its share of the cores.")
    return n


def _dask_threads() -> int | None:
    try:
        from distributed import get_worker
        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None  # not in a Dask worker


def thread_budget(env=os.environ) -> tuple[int, str]:
    """(threads, where the number comes from); see the module doc."""
    if env.get(ENV):
        return _positive(ENV, env[ENV]), ENV
    if env.get("SLURM_JOB_ID") and env.get("SLURM_CPUS_PER_TASK"):
        return _positive("SLURM_CPUS_PER_TASK", env["SLURM_CPUS_PER_TASK"]), "SLURM job"
    dask = _dask_threads()
    if dask is not None:
        return max(1, dask), "Dask worker"
    omp = env.get("OMP_NUM_THREADS")
    if omp:
        in_worker = multiprocessing.current_process().name != "MainProcess"
        return _positive("OMP_NUM_THREADS", omp), ("joblib worker" if in_worker
                                                   else "OMP_NUM_THREADS")
    return usable_cores(), "all cores"


def use_thread_budget() -> int:
    """Set torch's and BLAS's thread pools to thread_budget(); returns it."""
    import torch

    n, _ = thread_budget()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:  # BLAS then follows OMP_NUM_THREADS
        pass
    return n
