"""A learned solver's life inside benchopt: train (or reuse), then reconstruct.

`LearnedRun` is what a benchopt solver file delegates to. Its `run(callback)`
follows benchopt's "callback" sampling strategy: one callback before training
(the untrained model, time 0) and one after every epoch, so the result file
holds the test metrics against training time. A completed training is saved
in the checkpoint cache; when the cache already holds the weights for these
training inputs, they are loaded (and the run says so) and the test set is
reconstructed once. `result()` reconstructs the test split and reports:

- inference_time_s: wall-clock seconds per test slice (device synchronised);
- train_peak_memory_mb: peak training memory (see memory.PeakMemory), the
  value recorded when the weights were trained if they were reused;
- saved_tensors_mb: the largest autograd graph of a training step (tensors
  saved for backward, deterministic; see memory.saved_tensors_mb);
- train_iterations / inference_iterations: inner iterations at training and
  at test time; train_loss; train_epochs; reused_checkpoint (0 / 1);
  training_diverged (0 / 1);
- whatever the model's `measurements()` hook returns (see learned/__init__).
"""

import warnings

import torch

from .checkpoint import CheckpointCache, cache_key, fingerprint_measurements, plain
from .data import reconstruct, with_acs_smaps
from .device import resolve_device, synchronize, timed
from .memory import PeakMemory
from .models import build_model
from .training import Trainer, TrainingDiverged, TrainSettings, default_step


def check_training_split(name: str, train) -> tuple[bool, str | None]:
    """benchopt's skip(): (True, reason) when there is nothing to train on."""
    if not train:
        return True, f"{name} is a learned solver: the dataset has no training split."
    if any(m.target is None for m in train):
        return True, f"{name} needs targets on the training split."
    return False, None


SMAPS = ("acs", "objective")


class LearnedRun:
    """Train-or-reuse one model and reconstruct the test measurements.

    name: the solver's name (checkpoint folder); config: the model's frozen
    config dataclass (learned.model_config); train / test: lists of
    Measurement; settings: TrainSettings; test_iterations: inner iterations
    at inference (None = the trained count); device: "auto", "cpu", "cuda";
    smaps: the coil maps the model uses on both splits, "acs" (estimated
    from each slice's own ACS lines, data.with_acs_smaps) or "objective"
    (the objective's: ESPIRiT or ACS on the test split, ACS on the training
    split); inference_options: the model's inference-only keywords (None
    values dropped); cache_dir: checkpoint folder, or None to disable the
    cache; step_fn: see training.train_step; build: config -> torch.nn.Module
    (the registry's build_model); log: where progress lines go.
    """

    def __init__(self, name, config, train, test, settings: TrainSettings,
                 test_iterations=None, device="auto", smaps="acs",
                 inference_options=None, cache_dir=None, step_fn=default_step,
                 build=build_model, log=print):
        if smaps not in SMAPS:
            raise ValueError(f"{name}: smaps={smaps!r} is not a coil-map choice of "
                             f"a learned solver: use one of {SMAPS}.")
        self.name, self.config, self.settings = name, config, settings
        if smaps == "acs":
            train, test = with_acs_smaps(train), with_acs_smaps(test)
        self.test, self.test_iterations, self.log = test, test_iterations, log
        self.inference_options = {k: v for k, v in (inference_options or {}).items()
                                  if v is not None}
        self.device = resolve_device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.seed)
            self.model = build(config)
        self.model.to(self.device)
        self.trainer = Trainer(self.model, train, settings, self.device, step_fn)
        self.cache = None if cache_dir is None else CheckpointCache(cache_dir)
        self.key = cache_key(name, config, settings, fingerprint_measurements(train))
        self.meter = PeakMemory(self.device)
        self.meta = dict(train_peak_memory_mb=0.0, saved_tensors_mb=0.0,
                         train_loss=float("nan"),
                         train_epochs=0, train_time_s=0.0)
        self.reused = False
        self.diverged = False

    def run(self, callback):
        """Train for settings.n_epochs epochs, calling `callback` between them."""
        ckpt = self.cache.load(self.name, self.key) if self.cache else None
        if ckpt is not None:
            self.model.load_state_dict(ckpt["state_dict"])
            self.meta.update(ckpt.get("meta", {}))
            self.reused = True
            self.log(f"{self.name}: reusing checkpoint "
                     f"{self.cache.path(self.name, self.key)}")
            callback()
            return
        synchronize(self.device)
        if not callback():
            return
        for _ in range(self.settings.n_epochs):
            start = timed(self.device)
            try:
                with self.meter:
                    loss = self.trainer.epoch()
            except TrainingDiverged as err:
                self.diverged = True
                warnings.warn(f"{self.name}: {err} This run stops here.", stacklevel=2)
                self.log(f"{self.name}: {err} This run stops here.")
                return
            self.meta.update(train_peak_memory_mb=self.meter.peak_mb, train_loss=loss,
                             saved_tensors_mb=self.trainer.saved_tensors_mb,
                             train_epochs=self.trainer.epochs_done,
                             train_time_s=self.meta["train_time_s"]
                             + timed(self.device) - start)
            if not callback():
                break
        if self.trainer.epochs_done < self.settings.n_epochs:
            self.log(f"{self.name}: benchopt stopped the training after "
                     f"{self.trainer.epochs_done} of {self.settings.n_epochs} epochs "
                     "(timeout or max-runs); the weights are not cached.")
        elif self.cache is not None:
            path = self.cache.save(self.checkpoint())
            self.log(f"{self.name}: saved checkpoint {path}")

    def checkpoint(self) -> dict:
        """A self-describing checkpoint of the current weights."""
        return dict(model=self.name, config=plain(self.config),
                    settings=plain(self.settings), key=self.key,
                    state_dict={k: v.detach().cpu()
                                for k, v in self.model.state_dict().items()},
                    meta=dict(self.meta))

    def result(self) -> dict:
        """benchopt's get_result: test reconstructions and measurements."""
        self.model.eval()
        reset = getattr(self.model, "reset_measurements", None)
        if reset is not None:
            reset()
        n_slices = sum(m.y.shape[0] for m in self.test)
        start = timed(self.device)
        recon = [reconstruct(self.model, m, n_iter=self.test_iterations,
                             batch_size=self.settings.batch_size, device=self.device,
                             density_compensation=self.settings.density_compensation,
                             **self.inference_options)
                 for m in self.test]
        elapsed = timed(self.device) - start
        trained = getattr(self.model, "n_iter", float("nan"))
        result = dict(
            recon=recon,
            inference_time_s=elapsed / max(n_slices, 1),
            train_peak_memory_mb=self.meta["train_peak_memory_mb"],
            saved_tensors_mb=self.meta.get("saved_tensors_mb", float("nan")),
            train_loss=self.meta["train_loss"],
            train_epochs=self.meta["train_epochs"],
            train_iterations=trained,
            inference_iterations=(trained if self.test_iterations is None
                                  else self.test_iterations),
            reused_checkpoint=int(self.reused),
            training_diverged=int(self.diverged),
        )
        measurements = getattr(self.model, "measurements", None)
        if measurements is not None:
            result.update(measurements())
        return result
