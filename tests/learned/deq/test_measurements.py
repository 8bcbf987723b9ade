"""The DEQ's measurements in a learned run's result (the model's
`measurements()` hook), its inference-only tolerance, and the cache reuse."""

import pytest

from benchmark_mri.learned import (
    Inference,
    LearnedRun,
    Training,
    TrainSettings,
    model_config,
)
from benchmark_mri.learned.deq import DEQConvergenceWarning

from ..conftest import tiny_split


def make_run(tmp_path, test_iterations=None, tol=None):
    train, test = tiny_split(n_train=1)
    config = model_config("deq", channels=4, forward_max_iter=10)
    settings = TrainSettings(n_epochs=1, batch_size=2)
    training = Training("deq_shine", config, train, settings, device="cpu",
                        cache_dir=tmp_path, log=lambda _: None)
    return LearnedRun(training, test, Inference(test_iterations, {"tol": tol}))


def test_result_has_the_deq_measurements_also_after_a_cache_hit(tmp_path):
    run = make_run(tmp_path)
    run.run(lambda: True)
    first = run.result()
    for name in ("forward_iterations", "forward_unconverged", "backward_time_s",
                 "train_forward_iterations", "train_peak_memory_mb"):
        assert name in first, name
    assert first["backward_time_s"] > 0 and first["forward_iterations"] >= 1
    assert first["train_iterations"] == 10 == first["inference_iterations"]

    with pytest.warns(DEQConvergenceWarning):
        again = make_run(tmp_path, test_iterations=1, tol=1e-12)  # the limit binds
        again.run(lambda: True)
        second = again.result()
    assert second["reused_checkpoint"] == 1
    assert second["backward_time_s"] == first["backward_time_s"]
    assert second["forward_iterations"] == 1 and second["forward_unconverged"] == 1
    assert second["inference_iterations"] == 1


def test_each_result_counts_only_its_own_test_solves(tmp_path):
    run = make_run(tmp_path)
    run.run(lambda: True)
    run.result()
    solves = len(run.model.solve_log)
    assert solves >= 1
    run.result()
    assert len(run.model.solve_log) == solves  # reset, then the same test split
