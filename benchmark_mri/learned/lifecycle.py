"""One training lifecycle for every learned run: build, train or reuse, save.

`Training(name, config, train, settings, ...)` owns what every learned run
shares, whatever it does at test time (learned/run.py's LearnedRun: one
network call per slice; score/run.py's ScorePosteriorRun: posterior
sampling; a solver of its own):

- the model, built from `config` (learned.models.build_model, or `build`)
  under `settings.seed` (torch's global generator forked, so nothing else
  is disturbed), then started from `pretrained` weights when given
  (`Pretrained`, learned/pretrained.py);
- the training split as the model sees it: measured under the training
  settings (`TrainSampling`: train_acceleration, train_mask_type; None = the
  dataset's, i.e. the test split's), with the model's coil maps (`smaps`,
  SMAPS);
- the Trainer (training.py) with the model's step function;
- the checkpoint key (checkpoint.cache_key: model, config, settings, the
  training split's fingerprint, the code) and the cache with its lock;
- the memory meter and the training measurements (`measurements()`,
  with the acceleration and mask type the model was trained under);
- divergence: `diverge(reason)` records it and says it once, for a training
  that diverged (training.TrainingDiverged) as for a test reconstruction
  that its run found absurd.

`run(before, after_epoch)` trains for `settings.n_epochs` epochs, or loads
the weights the cache holds for this key, and returns what happened (an
Outcome). The lookup, the training and the save happen under the key's
lock: a run started while another trains the same weights waits, then
reuses them. `before()` is called once before the first epoch and
`after_epoch(epoch)` after each (1-based); either returning False, or a
divergence recorded during it (`diverge`, from the point it evaluated),
stops the training (benchopt's timeout or max-runs, or the run's own
reason): the weights are then not cached. A completed training is saved.

A solver of its own (a new model family) builds a Training and calls
`run` with its own callbacks; `learned/run.py` is the example.
"""

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import torch

from ..data.split import Split, as_split
from ..physics.masks import DEFAULT_CENTER_FRACTIONS, MASK_TYPES, CartesianSampling
from ..physics.trajectories import NonCartesianSampling
from .checkpoint import CheckpointCache, cache_key, make_checkpoint
from .data import with_acs_smaps
from .device import resolve_device, synchronize, timed
from .memory import PeakMemory
from .pretrained import load_pretrained
from .training import Trainer, TrainingDiverged, TrainSettings, default_step

SMAPS = ("acs", "objective")


class Outcome(str, Enum):
    """What `Training.run` did."""

    TRAINED = "trained"  # trained all epochs (and saved, with a cache)
    REUSED = "reused"  # loaded the cache's weights for this key
    PRETRAINED = "pretrained"  # n_epochs = 0: the pretrained weights as they are
    STOPPED = "stopped"  # a callback returned False: training cut (not saved)
    DIVERGED = "diverged"  # the training diverged (Training.diverge; not saved)


@dataclass(frozen=True)
class Pretrained:
    """Weights a model starts from (learned/pretrained.py).

    path: a state-dict file (fastMRI's published weights, or a benchmark
    checkpoint); sha256: its expected digest (None: not checked; the digest
    found is recorded either way).
    """

    path: str | Path
    sha256: str | None = None


@dataclass(frozen=True)
class Inference:
    """What a run does at test time, outside the checkpoint key (changing it
    reuses the trained weights).

    iterations: inner iterations at inference (None: as trained; checked
    against the model by models.check_test_iterations); options: the model's
    own inference-only keywords (the DEQ's `tol`), None values dropped.
    """

    iterations: int | None = None
    options: dict = field(default_factory=dict)

    def keywords(self) -> dict:
        """The options a model call takes (None values dropped)."""
        return {k: v for k, v in self.options.items() if v is not None}


@dataclass(frozen=True)
class TrainSampling:
    """The sampling a model trains under, when not the dataset's.

    acceleration: train_acceleration (None: the dataset's, i.e. the test
    split's); mask_type: train_mask_type, "random", "equispaced" or
    "gaussian" (None: the dataset's). The training split's fully sampled
    volumes are measured with them (data.split.Split.with_sampling); the
    test split is measured as the dataset says. They reach the checkpoint
    key through the training split's fingerprint, which hashes its sampling
    (files) or its measured bytes (volumes in memory): at their defaults the
    key is the one checkpoints were trained under before, and
    train_acceleration=4 on an 8x dataset reuses the weights of the default
    run on the same data at 4x.
    """

    acceleration: int | None = None
    mask_type: str | None = None

    def __post_init__(self):
        if self.mask_type is not None and self.mask_type not in MASK_TYPES:
            raise ValueError(f"train_mask_type={self.mask_type!r} is not a mask type: "
                             f"use one of {MASK_TYPES}, or None (the test's).")

    def of(self, sampling, name: str = "learned"):
        """The training sampling of a dataset's `sampling` (ValueError naming
        the parameter and what the dataset's masks can make otherwise)."""
        if self.acceleration is None and self.mask_type is None:
            return sampling
        if sampling is None:  # data.split.as_split of measurements
            raise ValueError(
                f"{name}: train_acceleration / train_mask_type measure the training "
                "volumes anew: that needs the fully sampled volumes of a Split "
                "(data.split.make_split), not measurements made elsewhere.")
        if isinstance(sampling, CartesianSampling):
            return self._cartesian(sampling, name)
        if isinstance(sampling, NonCartesianSampling):
            if self.mask_type is not None:
                raise ValueError(
                    f"{name}: train_mask_type={self.mask_type!r} applies to Cartesian "
                    f"masks; the dataset samples along a {sampling.trajectory} "
                    "trajectory: leave train_mask_type=None.")
            try:
                return NonCartesianSampling(sampling.trajectory, self.acceleration)
            except ValueError as err:
                raise ValueError(f"{name}: train_acceleration={self.acceleration!r}: "
                                 f"{err}") from None
        raise ValueError(
            f"{name}: train_acceleration / train_mask_type measure the training "
            "volumes anew, which needs fully sampled volumes under a Cartesian mask "
            "or a retrospective trajectory; this dataset gives "
            f"{type(sampling).__name__}.")

    def _cartesian(self, sampling: CartesianSampling, name: str) -> CartesianSampling:
        acceleration = (sampling.acceleration if self.acceleration is None
                        else self.acceleration)
        mask_type = sampling.mask_type if self.mask_type is None else self.mask_type
        if acceleration == sampling.acceleration:  # the dataset's centre fraction
            return CartesianSampling(mask_type, acceleration, sampling.center_fraction)
        if acceleration not in DEFAULT_CENTER_FRACTIONS:
            allowed = " or ".join(map(str, DEFAULT_CENTER_FRACTIONS))
            raise ValueError(
                f"{name}: train_acceleration={acceleration!r} is not available for "
                "the dataset's Cartesian masks, which take fastMRI's centre fractions "
                f"{DEFAULT_CENTER_FRACTIONS}: use train_acceleration={allowed}, or "
                f"None (the test's, {sampling.acceleration}).")
        return CartesianSampling(mask_type, acceleration)

    def apply(self, split, name: str = "learned"):
        """The training split measured under these settings (itself at the
        defaults, or when it is empty)."""
        if (self.acceleration is None and self.mask_type is None) or not len(split):
            return split
        return split.with_sampling(self.of(split.sampling, name))


def model_maps(split, smaps: str = "acs", name: str = "learned") -> Split:
    """The split with the coil maps a model uses: "acs", maps from each
    slice's own ACS lines (data.with_acs_smaps: what XPDNet and E2E-VarNet
    do, on both splits alike), or "objective", the objective's maps."""
    if smaps not in SMAPS:
        raise ValueError(f"{name}: smaps={smaps!r} is not a coil-map choice of a "
                         f"learned solver: use one of {SMAPS}.")
    return with_acs_smaps(split) if smaps == "acs" else as_split(split)


class Training:
    """Train-or-reuse one model (module doc).

    Args:
        name: the solver's name (the checkpoint folder, the log lines).
        config: the model's frozen config dataclass (learned.model_config).
        train: the training split (a data.split.Split, or a list of
            Measurement with targets); may be empty when settings.n_epochs
            is 0 (pretrained weights evaluated as they are).
        settings: TrainSettings (all of them in the checkpoint key).
        step_fn: step_fn(model, batch, loss_fn) -> loss (training.train_step).
        build: config -> torch.nn.Module (None: the registry's
            models.build_model).
        pretrained: a Pretrained, or None for a random initialisation.
        sampling: the TrainSampling the training split is measured with
            (None: as the dataset measured it).
        device: "auto", "cpu" or "cuda".
        smaps: the coil maps the model uses on the training split (SMAPS).
        cache_dir: the checkpoint folder, or None for no cache.
        log: where progress lines go.
    """

    def __init__(self, name: str, config, train, settings: TrainSettings, *,
                 step_fn=default_step, build=None,
                 pretrained: Pretrained | None = None,
                 sampling: TrainSampling | None = None, device="auto",
                 smaps: str = "acs", cache_dir=None, log=print):
        self.name, self.config, self.log, self.smaps = name, config, log, smaps
        train = (sampling or TrainSampling()).apply(as_split(train), name)
        self.train = model_maps(train, smaps, name)
        self.device = resolve_device(device)
        if build is None:
            from .models import build_model as build  # models imports score/
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.seed)
            self.model = build(config)
        self.pretrained_sha256 = None
        if pretrained is not None:
            self.pretrained_sha256 = load_pretrained(self.model, pretrained.path,
                                                     pretrained.sha256)
            settings = replace(settings, init_sha256=self.pretrained_sha256)
        elif settings.n_epochs == 0:
            raise ValueError(f"{name}: n_epochs=0 evaluates pretrained weights without "
                             "training: give pretrained=PATH, or n_epochs >= 1.")
        self.settings = settings
        self.model.to(self.device)
        self.trainer = (Trainer(self.model, self.train, settings, self.device, step_fn,
                                name=name)
                        if settings.n_epochs else None)  # None: evaluation only
        self.cache = None if cache_dir is None else CheckpointCache(cache_dir)
        self.key = cache_key(name, config, settings, self.train.fingerprint())
        self.meter = PeakMemory(self.device)
        self.meta = dict(train_peak_memory_mb=0.0, saved_tensors_mb=0.0,
                         train_loss=float("nan"), train_epochs=0, train_time_s=0.0)
        self.reused = False
        self.diverged = False

    # -- the lifecycle ---------------------------------------------------------

    def run(self, before=None, after_epoch=None) -> Outcome:
        """Train, or reuse the cached weights (module doc)."""
        if self.settings.n_epochs == 0:
            self.log(f"{self.name}: evaluating the pretrained weights (sha256 "
                     f"{self.pretrained_sha256}) without training.")
            return Outcome.PRETRAINED
        if self.cache is None:
            return self._train(before, after_epoch)
        with self.cache.lock(self.name, self.key, on_wait=self._say_waiting):
            ckpt = self.cache.load(self.name, self.key, into=self.model)
            if ckpt is None:
                return self._train(before, after_epoch)
        self.meta.update(ckpt.get("meta", {}))
        self.reused = True
        self.log(f"{self.name}: reusing checkpoint "
                 f"{self.cache.path(self.name, self.key)}")
        return Outcome.REUSED

    def _say_waiting(self, lock):
        self.log(f"{self.name}: waiting: another run is training these weights "
                 f"(lock {lock}); this run will reuse them.")

    def _train(self, before, after_epoch) -> Outcome:
        synchronize(self.device)
        if before is not None and (not before() or self.diverged):
            return Outcome.STOPPED
        n_epochs = self.settings.n_epochs
        for epoch in range(1, n_epochs + 1):
            start = timed(self.device)
            try:
                with self.meter:
                    loss = self.trainer.epoch()
            except TrainingDiverged as err:
                self.diverge(str(err))
                return Outcome.DIVERGED
            self.meta.update(train_peak_memory_mb=self.meter.peak_mb, train_loss=loss,
                             saved_tensors_mb=self.trainer.saved_tensors_mb,
                             train_epochs=self.trainer.epochs_done,
                             train_time_s=self.meta["train_time_s"]
                             + timed(self.device) - start)
            if after_epoch is not None and (not after_epoch(epoch) or self.diverged):
                break  # benchopt stops, or a callback's point found the divergence
        if self.diverged:  # at a callback's point (said there): not saved
            return Outcome.STOPPED
        if self.trainer.epochs_done < n_epochs:
            self.log(f"{self.name}: benchopt stopped the training after "
                     f"{self.trainer.epochs_done} of {n_epochs} epochs "
                     "(timeout or max-runs); the weights are not cached.")
            return Outcome.STOPPED
        if self.cache is not None:
            self.cache.store(self.checkpoint(), self.log)
        return Outcome.TRAINED

    def diverge(self, reason: str):
        """Record the divergence and say it (once): the run's last point is
        its diverged point (training_diverged = 1, NaN metrics); no
        checkpoint is saved after it."""
        if self.diverged:
            return
        self.diverged = True
        self.log(f"{self.name}: {reason} The run stops here: it is recorded as "
                 "diverged (training_diverged=1, NaN metrics) and no checkpoint "
                 "is saved.")

    # -- what it records -------------------------------------------------------

    def checkpoint(self) -> dict:
        """A self-describing checkpoint of the current weights."""
        return make_checkpoint(self.name, self.config, self.settings, self.key,
                               self.model, self.meta)

    def measurements(self) -> dict:
        """The training's result fields (those of the original training when
        the weights were reused): train_time_s, train_time_per_epoch_s,
        train_peak_memory_mb (memory.PeakMemory), saved_tensors_mb (the
        largest autograd graph of a step, memory.saved_tensors_mb),
        train_loss, train_epochs, reused_checkpoint and training_diverged
        (0 / 1), and the setting it trained under: train_acceleration and
        train_mask_type (data.split.sampling_setting of the training split;
        NaN and None without one, e.g. pretrained weights evaluated as they
        are)."""
        epochs = self.meta["train_epochs"]
        acceleration, mask_type = (self.train.setting if len(self.train)
                                   else (float("nan"), None))
        return dict(
            train_time_s=self.meta["train_time_s"],
            train_time_per_epoch_s=(self.meta["train_time_s"] / epochs if epochs
                                    else float("nan")),
            train_peak_memory_mb=self.meta["train_peak_memory_mb"],
            saved_tensors_mb=self.meta.get("saved_tensors_mb", float("nan")),
            train_loss=self.meta["train_loss"],
            train_epochs=epochs,
            reused_checkpoint=int(self.reused),
            training_diverged=int(self.diverged),
            train_acceleration=acceleration,
            train_mask_type=mask_type,
        )

    def advice(self) -> str:
        """What to change after a divergence, as a clause."""
        return (f"lower the learning rate (lr={self.settings.lr:g})"
                if self.settings.n_epochs else "check the pretrained weights")
