"""`benchmark-mri plan`: a run's work and cost before it runs, what is cached."""

import pytest

from benchmark_mri.cli import main
from benchmark_mri.data.fake_fastmri import make_tree
from benchmark_mri.plan import plan, run_patterns
from benchmark_mri.prepare import prepare_maps

from .conftest import REPO

KNEE = "fastmri_knee[n_train_volumes=1,n_test_volumes=2,n_slices=2]"


def planned(**kwargs):
    lines = []
    plans = plan(REPO, log=lines.append, **kwargs)
    return "\n".join(lines), dict(plans)


def test_the_quickstart_plan_counts_its_work_and_marks_cached_weights(
        tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARK_MRI_CHECKPOINTS", str(tmp_path))
    text, plans = planned(config=REPO / "configs" / "quickstart.yml", measure=False)
    assert "test split: 2 volumes, 8 slices (k-space 8 x 128 x 128, in memory)" in text
    assert "training split: 8 volumes, 32 slices" in text
    # Only ista_l1 reads the objective's ESPIRiT maps.
    assert "coil maps (espirit): 8 slices computed in memory by each run, for " \
        "ista_l1\n" in text
    (solvers,) = plans.values()
    xpdnet = next(p for p in solvers if p.name.startswith("xpdnet"))
    assert xpdnet.training == "to train" and "trains 6 epochs x 32 slices" in text
    # Weights already in the checkpoint cache are marked as such.
    key = tmp_path / "xpdnet"
    key.mkdir()
    (solvers,) = planned(config=REPO / "configs" / "quickstart.yml",
                         measure=False)[1].values()
    path = next(p for p in solvers if p.name.startswith("xpdnet"))
    assert path.training == "to train"
    text, plans = _with_checkpoint(tmp_path)
    assert "xpdnet[" in text and "training: cached (" in text


def _with_checkpoint(folder):
    """Plan xpdnet alone, create its checkpoint file, plan again."""
    from benchmark_mri.learned.checkpoint import CheckpointCache

    _, plans = planned(datasets=["phantom"], solvers=["xpdnet"], measure=False)
    (solvers,) = plans.values()
    # The path the solver's LearnedRun would load from: what plan checks.
    assert solvers[0].training == "to train"
    cache = CheckpointCache(folder)
    for path in (folder / "xpdnet").glob("*.lock"):
        path.unlink()
    keys = _planned_key()
    cache.path("xpdnet", keys).parent.mkdir(parents=True, exist_ok=True)
    cache.path("xpdnet", keys).write_bytes(b"weights")
    return planned(datasets=["phantom"], solvers=["xpdnet"], measure=False)


def _planned_key():
    from benchopt.benchmark import Benchmark
    from benchopt.utils.run_context import RunContext

    from benchmark_mri.plan import _instances

    bench = Benchmark(REPO)
    (dataset,) = _instances(bench, ["phantom"], "dataset")
    (solver,) = _instances(bench, ["xpdnet"], "solver")
    objective = bench.get_benchmark_objective().get_instance()
    RunContext(base_seed="0", objective_name=str(objective), dataset_name=str(dataset),
               solver_name=str(solver), repetition=0).attach(objective, dataset, solver)
    objective.set_data(**dataset.get_data())
    solver.set_objective(**objective.get_objective())
    return solver.learned.training.key


def test_a_knee_tree_plan_measures_and_sees_prepared_maps(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "fastmri")
    monkeypatch.setenv("FASTMRI_ROOT", str(root))
    monkeypatch.setenv("BENCHMARK_MRI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCHMARK_MRI_CHECKPOINTS", str(tmp_path / "checkpoints"))
    solvers = ["zero_filled", "ista_l1", "xpdnet[n_epochs=1,n_iter=1]"]
    text, _ = planned(datasets=[KNEE], solvers=solvers)
    assert "test split: 2 volumes, 4 slices (k-space 4 x 64 x 48, read from files)" \
        in text
    assert "coil maps (espirit): 0 of 4 slices cached, 4 to compute, for ista_l1" \
        in text
    assert "s per slice and iteration" in text  # ista_l1
    assert "zero_filled: reconstruction " in text
    assert "trains 1 epochs x 2 slices (" in text and "inference " in text
    assert "estimated total: " in text and "Throughputs measured here: CPU" in text
    assert not (tmp_path / "cache").exists(), "plan computed maps"
    prepare_maps(REPO, KNEE, log=lambda _: None)
    text, _ = planned(datasets=[KNEE], solvers=solvers, measure=False)
    assert "coil maps (espirit): 4 of 4 slices cached, 0 to compute" in text


def test_plan_needs_datasets_and_solvers(capsys):
    with pytest.raises(ValueError, match="needs datasets and solvers"):
        run_patterns(None, ["phantom"], [])
    assert run_patterns(REPO / "configs" / "quickstart.yml", ["phantom[n_coils=4]"],
                        [])[0] == ["phantom[n_coils=4]"]
    assert main(["plan", "--config", "nowhere.yml"]) == 2
    assert "nowhere.yml: no such file" in capsys.readouterr().err
