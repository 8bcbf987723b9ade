"""Parallel execution through benchopt's engines gives the sequential metrics."""

import joblib
import pandas as pd
import pytest

from .conftest import REPO, benchopt_run, dask_cluster_config, failing_solver

DATASET = ("phantom[image_size=32,n_coils=4,n_train_volumes=1,n_test_volumes=2,"
           "n_slices=2,acceleration=[4,8]]")
SOLVERS = ["zero_filled", "ista_l1"]
METRICS = ["objective_psnr", "objective_ssim", "objective_nmse"]


def run(output, *args, raise_on_error=True, env=None):
    # ACS maps: ESPIRiT needs >= 3 ACS columns, 32 columns at 8x have one.
    solvers = [arg for solver in SOLVERS for arg in ("-s", solver)]
    return benchopt_run("-d", DATASET, "-o", "MRI reconstruction[smaps=acs]",
                        "--max-runs", "5", *args, *solvers, output=output,
                        raise_on_error=raise_on_error, env=env)


def threads(path) -> set:
    return set(pd.read_parquet(path)["objective_n_threads"])


def final_metrics(path):
    """The last evaluation of every (dataset, solver) run, times dropped."""
    df = pd.read_parquet(path)
    last = df.sort_values("stop_val").groupby(["dataset_name", "solver_name"]).last()
    return last[METRICS].sort_index()


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    output = tmp_path_factory.mktemp("seq") / "sequential.parquet"
    proc = run(output)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return final_metrics(output)


@pytest.mark.slow
def test_n_jobs_matches_sequential(sequential, tmp_path):
    # Without the override, each of the two workers takes its share of the cores.
    proc = run(tmp_path / "jobs.parquet", "-j", "2",
               env={"BENCHMARK_MRI_THREADS": None, "OMP_NUM_THREADS": None})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = final_metrics(tmp_path / "jobs.parquet")
    assert len(result) == 2 * len(SOLVERS)
    pd.testing.assert_frame_equal(result, sequential)
    assert threads(tmp_path / "jobs.parquet") == {max(1, joblib.cpu_count() // 2)}


@pytest.mark.slow
def test_dask_cluster_matches_sequential(sequential, tmp_path, monkeypatch):
    # The cluster's workers start from this process's environment.
    monkeypatch.delenv("BENCHMARK_MRI_THREADS")
    with dask_cluster_config(tmp_path) as config_file:
        proc = run(tmp_path / "dask.parquet", "--parallel-config", str(config_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pd.testing.assert_frame_equal(final_metrics(tmp_path / "dask.parquet"), sequential)
    assert threads(tmp_path / "dask.parquet") == {1}  # one thread per worker





@pytest.mark.slow
def test_failing_solver_in_a_worker_keeps_the_others(tmp_path):
    failing = tmp_path / "always_fails.py"
    failing.write_text(failing_solver(
        "always_fails", 'RuntimeError("deliberate failure inside a worker")'))
    output = tmp_path / "kept.parquet"
    # Default mode: the failure is reported, the other solvers' results saved.
    proc = run(output, "-j", "2", "-s", str(failing), raise_on_error=False)
    log = proc.stdout + proc.stderr
    assert "deliberate failure inside a worker" in log
    assert "always_fails" in log and "error" in log
    kept = pd.read_parquet(output)
    assert set(kept["solver_name"].str.split("[").str[0]) == set(SOLVERS)
    # CI mode (BENCHOPT_RAISE_ON_ERROR=1): the run fails loudly.
    proc = run(tmp_path / "ci.parquet", "-j", "2", "-s", str(failing))
    assert proc.returncode != 0
    assert "deliberate failure inside a worker" in proc.stdout + proc.stderr


def test_slurm_config_is_accepted_by_benchopt(tmp_path):
    pytest.importorskip("submitit")
    from benchopt.benchmark import Benchmark
    from benchopt.parallel_backends import check_parallel_config
    from benchopt.parallel_backends.slurm_executor import get_slurm_executor

    config = check_parallel_config(str(REPO / "configs" / "parallel_slurm.yml"), 4)
    assert config.pop("backend") == "submitit" and config.pop("n_jobs") == 4
    # benchopt builds the submitit executor and validates every slurm_* key
    # (an unknown one raises), without submitting anything.
    executor = get_slurm_executor(Benchmark(REPO), config, timeout=100)
    assert executor is not None
    with pytest.raises(NameError, match="partitionn"):
        get_slurm_executor(Benchmark(REPO), {"slurm_partitionn": "gpu"}, timeout=100)


def test_datasets_and_problems_pickle(tmp_path):
    """Workers receive datasets and problems by pickling: they must round-trip."""
    import pickle

    from benchopt.benchmark import Benchmark
    from benchopt.utils.run_context import RunContext

    bench = Benchmark(REPO)
    for dataset_class in bench.get_datasets():
        if dataset_class.name != "phantom":
            continue
        dataset = dataset_class.get_instance(image_size=32, n_coils=2,
                                             n_train_volumes=1, n_test_volumes=1,
                                             n_slices=1)
        dataset._run_context = RunContext(base_seed="0", repetition=0)
        data = pickle.loads(pickle.dumps(dataset.get_data()))
        objective = bench.get_benchmark_objective().get_instance()
        objective.set_data(**data)
        problem = pickle.loads(pickle.dumps(objective.get_objective()))
        assert problem["test"][0].y.shape == (1, 2, 32, 32)
