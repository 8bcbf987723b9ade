"""Each process's share of the cores (benchmark_mri/threads.py)."""

import pytest

from benchmark_mri.threads import ENV, thread_budget, usable_cores


def test_the_override_wins():
    assert thread_budget({ENV: "3", "OMP_NUM_THREADS": "1"}) == (3, ENV)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", " "])
def test_a_bad_override_is_refused_naming_the_variable(value):
    with pytest.raises(ValueError, match=f"{ENV}={value!r}.*positive integer"):
        thread_budget({ENV: value})


def test_a_slurm_job_gets_its_allocation():
    env = {"SLURM_JOB_ID": "12", "SLURM_CPUS_PER_TASK": "6"}
    assert thread_budget(env) == (6, "SLURM job")


def test_a_joblib_worker_gets_its_share(monkeypatch):
    # benchopt -j N runs tasks in loky processes, where joblib sets
    # OMP_NUM_THREADS to cores // N.
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "name", "LokyProcess-1")
    assert thread_budget({"OMP_NUM_THREADS": "1"}) == (1, "joblib worker")


def test_alone_a_process_takes_every_usable_core():
    assert thread_budget({}) == (usable_cores(), "all cores")


def test_the_loader_workers_return_freed_slices():
    """A worker reading one slice after another keeps no freed slice
    (benchmark_mri/allocator.py; measured in docs/fastmri-scale.md)."""
    import subprocess
    import sys

    import torch

    from benchmark_mri.allocator import worker_init
    from benchmark_mri.data import phantom_volumes
    from benchmark_mri.data.split import make_split
    from benchmark_mri.learned.data import training_loader
    from benchmark_mri.physics.trajectories import make_sampling

    split = make_split(phantom_volumes("train", 1, 0, image_size=32, n_coils=2,
                                       n_slices=1),
                       make_sampling("cartesian", 4, "random", "phantom"), True)
    loader = training_loader(split, 1, torch.Generator(), workers=0)
    assert loader.worker_init_fn is worker_init
    # In a process of its own: it slows any training in the process it is set in.
    out = subprocess.run([sys.executable, "-c", "from benchmark_mri.allocator import "
                          "return_large_blocks; print(return_large_blocks())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(sys.platform.startswith("linux"))
