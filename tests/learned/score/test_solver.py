"""solvers/score_posterior.py: a learned solver of the contract, and the
parameter values it skips, saying why."""

import pytest
from benchopt.benchmark import Benchmark

from benchmark_mri.data import phantom_split
from benchmark_mri.physics import CartesianSampling
from benchmark_mri.physics.trajectories import NonCartesianSampling
from benchmark_utils.learned_solver import DEFAULT_PARAMETERS, LearnedSolver

from ...conftest import REPO


@pytest.fixture(scope="module")
def solver_class():
    return {s.name: s for s in Benchmark(REPO).get_solvers()}["score_posterior"]


def instance(solver_class, **parameters):
    defaults = {k: v[0] for k, v in solver_class.parameters.items()}
    return solver_class.get_instance(**{**defaults, **parameters})


def test_score_posterior_is_a_learned_solver(solver_class):
    assert issubclass(solver_class, LearnedSolver)
    assert set(DEFAULT_PARAMETERS) <= set(solver_class.parameters)
    assert solver_class.parameters["loss"] == ["l2"]


def test_non_cartesian_data_are_skipped_saying_why(solver_class):
    train, test, _ = phantom_split(1, 1, 0, NonCartesianSampling("radial", 4),
                                   image_size=32, n_coils=2, n_slices=1)
    skip, reason = instance(solver_class).skip(test=test, train=train)
    assert skip and reason.startswith("score_posterior: its Gaussian likelihood")


@pytest.mark.parametrize("parameters, reason", [
    (dict(test_iterations=3), "score_posterior has no test_iterations"),
    (dict(train_masks="random"), "train_masks='random' changes nothing"),
    (dict(train_acceleration=8), "train_acceleration=8 changes nothing"),
    (dict(train_mask_type="equispaced"), "train_mask_type='equispaced' changes"),
])
def test_parameters_that_change_nothing_are_skipped(solver_class, parameters, reason):
    train, test, _ = phantom_split(1, 1, 0, CartesianSampling("random", 4),
                                   image_size=32, n_coils=2, n_slices=1)
    skip, why = instance(solver_class, **parameters).skip(test=test, train=train)
    assert skip and reason in why
    assert instance(solver_class).skip(test=test, train=train) == (False, None)
