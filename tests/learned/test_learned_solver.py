"""The learned-solver contract of benchmark_utils/learned_solver.py: the
training parameters are checked, the inference-only ones get defaults."""

import pytest
from benchopt.benchmark import Benchmark

from benchmark_utils.learned_solver import DEFAULT_PARAMETERS, LearnedSolver

from ..conftest import REPO

TRAINING = {"n_epochs": [1], "lr": [1e-3], "batch_size": [1], "loss": ["l1"]}


def test_inference_parameters_get_defaults_and_declared_ones_stay():
    class Solver(LearnedSolver):
        name = "toy"
        parameters = {**TRAINING, "device": ["cpu"]}

    assert Solver.parameters["test_iterations"] == [None]
    assert Solver.parameters["smaps"] == ["acs"]
    assert Solver.parameters["device"] == ["cpu"]
    assert Solver.parameters["lr"] == [1e-3]


def test_a_missing_training_parameter_is_named():
    with pytest.raises(TypeError, match=r"Learned solver 'toy' .* does not declare "
                       r"the training parameters \['lr', 'loss'\]"):
        class Solver(LearnedSolver):
            name = "toy"
            parameters = {"n_epochs": [1], "batch_size": [1]}


def test_every_learned_solver_file_has_the_contracts_parameters():
    solvers = {s.name: s for s in Benchmark(REPO).get_solvers()}
    for name in ("xpdnet", "rim", "deq_shine", "varnet", "unet"):
        assert issubclass(solvers[name], LearnedSolver), name
        assert set(DEFAULT_PARAMETERS) <= set(solvers[name].parameters), name


@pytest.mark.parametrize("name, reason", [
    ("varnet", "varnet: E2E-VarNet updates Cartesian k-space only."),
    ("unet", "unet: fastMRI's U-Net takes Cartesian k-space only."),
])
def test_cartesian_only_models_skip_non_cartesian_data_saying_why(name, reason):
    from benchmark_mri.data import phantom_split
    from benchmark_mri.physics.trajectories import NonCartesianSampling

    solver = {s.name: s for s in Benchmark(REPO).get_solvers()}[name].get_instance()
    train, test, _ = phantom_split(1, 1, 0, NonCartesianSampling("radial", 4),
                                   image_size=32, n_coils=2, n_slices=1)
    assert solver.skip(test=test, train=train) == (True, reason)
