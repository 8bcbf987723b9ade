"""The learned-solver contract of benchmark_utils/learned_solver.py: the
training parameters are checked, the inference-only ones get defaults."""

import re

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
    for name in ("xpdnet", "rim", "deq_shine", "varnet", "unet", "loupe"):
        assert issubclass(solvers[name], LearnedSolver), name
        assert set(DEFAULT_PARAMETERS) <= set(solvers[name].parameters), name


@pytest.mark.parametrize("name, reason", [
    ("varnet", "varnet: E2E-VarNet updates Cartesian k-space only."),
    ("unet", "unet: fastMRI's U-Net takes Cartesian k-space only."),
    ("loupe", "loupe: LOUPE learns Cartesian columns."),
])
def test_cartesian_only_models_skip_non_cartesian_data_saying_why(name, reason):
    from benchmark_mri.data import phantom_split
    from benchmark_mri.physics.trajectories import NonCartesianSampling

    solver = {s.name: s for s in Benchmark(REPO).get_solvers()}[name].get_instance()
    train, test, _ = phantom_split(1, 1, 0, NonCartesianSampling("radial", 4),
                                   image_size=32, n_coils=2, n_slices=1)
    assert solver.skip(test=test, train=train) == (True, reason)


TINY_MODELS = {"xpdnet": dict(n_iter=1), "rim": dict(n_steps=1, hidden_channels=4),
               "deq": dict(channels=4, forward_max_iter=3),
               "varnet": dict(n_cascades=1, channels=4),
               "unet": dict(channels=4, n_pools=2),
               "layerwise": dict(n_blocks=2, width=8, epochs_per_block=1)}


@pytest.mark.parametrize("model", sorted(TINY_MODELS))
@pytest.mark.parametrize("value", [0, -3, 2.5, "two"])
def test_test_iterations_is_checked_for_every_learned_model(split, model, value):
    """xpdnet[test_iterations=0] scored the untrained image and recorded 0
    iterations; rim[test_iterations=0] raised an IndexError after training.
    Every learned model refuses it before training, naming the value and
    what it can run."""
    from benchmark_mri.learned import (
        Inference,
        LearnedRun,
        Training,
        TrainSettings,
        model_config,
    )

    train, test = split
    config = model_config(model, "cpu_small", **TINY_MODELS[model])
    expected = (rf"{model}: test_iterations={re.escape(repr(value))} "
                r"(is out of range|is not an integer|is refused)"
                r".*(runs 1 (to|or more)|has no inner iterations)")
    with pytest.raises(ValueError, match=expected):
        LearnedRun(Training(model, config, train, TrainSettings(n_epochs=1),
                            cache_dir=None, log=[].append), test, Inference(value))


@pytest.mark.parametrize("parameters, message", [
    (dict(train_acceleration=3),
     r"xpdnet: train_acceleration=3 is not available for the dataset's Cartesian "
     r"masks, which take fastMRI's centre fractions"),
    (dict(train_mask_type="poisson"),
     r"train_mask_type='poisson' is not a mask type: use one of \('random', "
     r"'equispaced', 'gaussian'\)"),
])
def test_a_training_setting_the_dataset_cannot_make_is_refused_naming_it(
        parameters, message):
    from benchopt.utils.run_context import RunContext

    from benchmark_mri.data import phantom_volumes
    from benchmark_mri.data.split import make_split
    from benchmark_mri.physics import CartesianSampling

    solver_class = {s.name: s for s in Benchmark(REPO).get_solvers()}["xpdnet"]
    defaults = {k: v[0] for k, v in solver_class.parameters.items()}
    solver = solver_class.get_instance(**{**defaults, "n_iter": 1, **parameters})
    RunContext(base_seed="0", repetition=0).attach(None, None, solver)
    sampling = CartesianSampling("random", 4)
    shape = dict(image_size=32, n_coils=2, n_slices=1)
    train = make_split(phantom_volumes("train", 1, 0, **shape), sampling, True)
    test = make_split(phantom_volumes("test", 1, 0, **shape), sampling, False)
    with pytest.raises(ValueError, match=message):
        solver.set_objective(test=test, train=train)
