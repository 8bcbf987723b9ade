"""The benchopt side every learned solver shares (solvers/xpdnet.py, rim.py,
deq_shine.py): train on the train split for a fixed budget of epochs, one
point per epoch, reconstruct the test split (benchmark_mri.learned.LearnedRun).

The contract of a learned solver file, checked when its class is defined:
- `parameters` declares the training parameters TRAINING_PARAMETERS;
- the parameters of DEFAULT_PARAMETERS are added with their defaults unless
  the file declares them: `test_iterations` (inner iterations at inference,
  None = as trained; a count the model can run, checked before training by
  learned.models.check_test_iterations; not in the checkpoint key),
  `device` ("auto", "cpu", "cuda"), `smaps`, the coil maps the model asks
  for ("acs": from its own ACS lines; "objective": the objective's), which
  the result file shows as `p_solver_smaps`, and `train_masks` ("fixed": each training
  slice keeps its mask; "random": a fresh mask per slice and epoch, as
  fastMRI trains; in the checkpoint key);
- a solver that declares `pretrained` (a state-dict path) and
  `pretrained_sha256` gets them passed to its Training (learned/pretrained.py);
  with n_epochs=0 it evaluates those weights and needs no training split;
- `set_objective(test, train)` sets `self.learned = self.learned_run(config,
  train, test)`, config from `benchmark_mri.learned.model_config(name,
  preset, **overrides)`. A solver whose test time is not one network call
  per slice (solvers/score_posterior.py) builds its run on
  `self.lifecycle(config, train)`, the shared training lifecycle
  (benchmark_mri/learned/lifecycle.py), with the settings of
  `self.train_settings()`.
Measurements of a model's own reach the result file through its
`measurements()` hook (benchmark_mri/learned/__init__.py), never by
overriding `get_result`.
"""

from pathlib import Path

from benchopt import BaseSolver

from benchmark_mri.data.split import as_split
from benchmark_mri.learned import (
    Inference,
    LearnedRun,
    Pretrained,
    Training,
    TrainSettings,
    check_training_split,
)
from benchmark_mri.learned.checkpoint import default_checkpoint_dir
from benchmark_mri.learned.training import default_step
from benchmark_utils.stopping import FixedBudget

BENCHMARK_DIR = Path(__file__).resolve().parents[1]
TRAINING_PARAMETERS = ("n_epochs", "lr", "batch_size", "loss")
DEFAULT_PARAMETERS = {"test_iterations": [None], "device": ["auto"], "smaps": ["acs"],
                      "train_masks": ["fixed"]}


class LearnedSolver(BaseSolver):
    sampling_strategy = "callback"
    stopping_criterion = FixedBudget()  # n_epochs, whatever --timeout says

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parameters = getattr(cls, "parameters", {})
        missing = [p for p in TRAINING_PARAMETERS if p not in parameters]
        if missing:
            raise TypeError(
                f"Learned solver {getattr(cls, 'name', cls.__name__)!r} "
                f"({cls.__module__}) does not declare the training parameters "
                f"{missing} in `parameters`: every learned solver declares "
                f"{list(TRAINING_PARAMETERS)} (see benchmark_utils/learned_solver.py)."
            )
        cls.parameters = {**parameters, **{k: v for k, v in DEFAULT_PARAMETERS.items()
                                           if k not in parameters}}

    # A model that works on Cartesian k-space only sets a sentence saying why;
    # non-Cartesian data are then skipped with it.
    cartesian_only = None

    def skip(self, test, train):
        if self.cartesian_only and not (as_split(test).is_cartesian
                                        and as_split(train).is_cartesian):
            return True, f"{self.name}: {self.cartesian_only}"
        if self.n_epochs == 0 and getattr(self, "pretrained", None):
            return False, None  # evaluates pretrained weights: no training
        return check_training_split(self.name, train)

    def train_settings(self, **overrides) -> TrainSettings:
        """TrainSettings of this solver's training parameters and benchopt's
        seed; `overrides` (e.g. density_compensation; a training parameter
        given there, e.g. n_epochs, replaces the solver's)."""
        return TrainSettings(**{
            **dict(n_epochs=self.n_epochs, lr=self.lr, batch_size=self.batch_size,
                   loss=self.loss, seed=self.get_seed(use_repetition=True),
                   train_masks=self.train_masks),
            **overrides})

    def lifecycle(self, config, train, settings: TrainSettings | None = None,
                 step_fn=default_step) -> Training:
        """The training lifecycle of this solver (benchmark_mri.learned.
        Training): its model config, the training split, `settings` (None:
        `train_settings()`), step_fn (benchmark_mri.learned.training), its
        device, coil maps, pretrained weights and the benchmark's checkpoint
        cache."""
        path = getattr(self, "pretrained", None)
        pretrained = (None if path is None else
                      Pretrained(path, getattr(self, "pretrained_sha256", None)))
        return Training(
            self.name, config, train,
            self.train_settings() if settings is None else settings,
            step_fn=step_fn, device=self.device, smaps=self.smaps,
            pretrained=pretrained, cache_dir=default_checkpoint_dir(BENCHMARK_DIR))

    def learned_run(self, config, train, test, step_fn=default_step,
                    inference_options=None, **settings) -> LearnedRun:
        """LearnedRun of this solver's training (`lifecycle`, with
        `train_settings(**settings)`) and its test-time iterations;
        inference_options: the model's inference-only keywords (the DEQ's
        tol)."""
        training = self.lifecycle(config, train, self.train_settings(**settings),
                                  step_fn)
        return LearnedRun(training, test,
                          Inference(self.test_iterations, inference_options or {}))

    def get_next(self, stop_val):
        return stop_val + 1  # evaluate after every epoch

    def run(self, callback):
        self.learned.run(callback)

    def get_result(self):
        return self.learned.result()
