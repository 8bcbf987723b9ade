"""A learned solver's life inside benchopt: train (or reuse), then reconstruct.

`LearnedRun` is what a benchopt solver file delegates to. Its `run(callback)`
follows benchopt's "callback" sampling strategy: one callback before training
(the untrained model, time 0) and one after every epoch, so the result file
holds the test metrics against training time. A completed training is saved
in the checkpoint cache; when the cache already holds the weights for these
training inputs, they are loaded (and the run says so) and the test set is
reconstructed once. The lookup, the training and the save happen under the
cache's lock of the key (CheckpointCache.lock): a run started while another
trains the same weights waits, then reuses them.

Divergence is a result, never a score. A training that diverges (training.py:
a non-finite loss, or one past GROWTH_BOUND) or a test reconstruction that is
not finite or peaks above OUTPUT_BOUND times its slice's zero-filled maximum
(`data.slice_scale`; the DEQ's forward solve blowing up, DEQDivergedError,
counts too) stops the run: the console says what happened and what to change,
the callback is called once more with NaN reconstructions and
training_diverged = 1 (the run's last point), and no checkpoint is saved.

`result()` reconstructs the test split and reports:

- inference_time_s: wall-clock seconds per test slice (device synchronised);
- train_peak_memory_mb: peak training memory (see memory.PeakMemory), the
  value recorded when the weights were trained if they were reused;
- saved_tensors_mb: the largest autograd graph of a training step (tensors
  saved for backward, deterministic; see memory.saved_tensors_mb);
- train_time_s and train_time_per_epoch_s: training wall-clock seconds, in
  all and per epoch (device synchronised; those of the original training
  when the weights were reused);
- train_iterations / inference_iterations: inner iterations at training and
  at test time; train_loss; train_epochs; reused_checkpoint (0 / 1);
  training_diverged (0 / 1);
- whatever the model's `measurements()` hook returns (see learned/__init__).
"""

from dataclasses import replace

import torch

from ..data.split import as_split
from ..progress import Progress
from .checkpoint import CheckpointCache, cache_key, make_checkpoint
from .data import reconstruct, slices_batch, with_acs_smaps
from .device import resolve_device, synchronize, timed
from .memory import PeakMemory
from .models import build_model, check_test_iterations
from .pretrained import load_pretrained
from .training import Trainer, TrainingDiverged, TrainSettings, default_step


def check_training_split(name: str, train) -> tuple[bool, str | None]:
    """benchopt's skip(): (True, reason) when there is nothing to train on."""
    train = as_split(train)
    if not len(train):
        return True, f"{name} is a learned solver: the dataset has no training split."
    if not train.has_targets:
        return True, f"{name} needs targets on the training split."
    return False, None


SMAPS = ("acs", "objective")
OUTPUT_BOUND = 10.0  # a test image brighter than 10x its zero-filled image diverged


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
    (the registry's build_model); pretrained: a state-dict file the model
    starts from (learned/pretrained.py; with settings.n_epochs = 0 it is
    evaluated as it is), pretrained_sha256: its expected digest; log: where
    progress lines go.
    """

    def __init__(self, name, config, train, test, settings: TrainSettings,
                 test_iterations=None, device="auto", smaps="acs",
                 inference_options=None, cache_dir=None, step_fn=default_step,
                 build=build_model, pretrained=None, pretrained_sha256=None,
                 log=print):
        if smaps not in SMAPS:
            raise ValueError(f"{name}: smaps={smaps!r} is not a coil-map choice of "
                             f"a learned solver: use one of {SMAPS}.")
        self.name, self.config, self.settings = name, config, settings
        train, test = as_split(train), as_split(test)
        if smaps == "acs":
            train, test = with_acs_smaps(train), with_acs_smaps(test)
        self.test, self.test_iterations, self.log = test, test_iterations, log
        self.inference_options = {k: v for k, v in (inference_options or {}).items()
                                  if v is not None}
        self.device = resolve_device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.seed)
            self.model = build(config)
        self.pretrained_sha256 = None
        if pretrained is not None:
            self.pretrained_sha256 = load_pretrained(self.model, pretrained,
                                                     pretrained_sha256)
            settings = replace(settings, init_sha256=self.pretrained_sha256)
            self.settings = settings
        elif settings.n_epochs == 0:
            raise ValueError(f"{name}: n_epochs=0 evaluates pretrained weights without "
                             "training: give pretrained=PATH, or n_epochs >= 1.")
        check_test_iterations(name, test_iterations, self.model)
        self.model.to(self.device)
        self.trainer = (Trainer(self.model, train, settings, self.device, step_fn,
                                name=name)
                        if settings.n_epochs else None)  # None: evaluation only
        self.cache = None if cache_dir is None else CheckpointCache(cache_dir)
        self.key = cache_key(name, config, settings, train.fingerprint())
        self.meter = PeakMemory(self.device)
        self.meta = dict(train_peak_memory_mb=0.0, saved_tensors_mb=0.0,
                         train_loss=float("nan"),
                         train_epochs=0, train_time_s=0.0)
        self.reused = False
        self.diverged = False

    def run(self, callback):
        """Train for settings.n_epochs epochs, calling `callback` between them,
        or reuse the cached weights (module doc)."""
        if self.settings.n_epochs == 0:  # pretrained weights, evaluated as they are
            self.log(f"{self.name}: evaluating the pretrained weights (sha256 "
                     f"{self.pretrained_sha256}) without training.")
            callback()
            return
        if self.cache is None:
            return self._train(callback)
        with self.cache.lock(self.name, self.key, on_wait=self._say_waiting):
            ckpt = self.cache.load(self.name, self.key, into=self.model)
            if ckpt is None:
                return self._train(callback)
        self.meta.update(ckpt.get("meta", {}))
        self.reused = True
        self.log(f"{self.name}: reusing checkpoint "
                 f"{self.cache.path(self.name, self.key)}")
        callback()

    def _say_waiting(self, lock):
        self.log(f"{self.name}: waiting: another run is training these weights "
                 f"(lock {lock}); this run will reuse them.")

    def _train(self, callback):
        synchronize(self.device)
        if not callback() or self.diverged:
            return
        for _ in range(self.settings.n_epochs):
            start = timed(self.device)
            try:
                with self.meter:
                    loss = self.trainer.epoch()
            except TrainingDiverged as err:
                self._diverge(str(err))
                callback()  # the diverged point: NaN reconstructions
                return
            self.meta.update(train_peak_memory_mb=self.meter.peak_mb, train_loss=loss,
                             saved_tensors_mb=self.trainer.saved_tensors_mb,
                             train_epochs=self.trainer.epochs_done,
                             train_time_s=self.meta["train_time_s"]
                             + timed(self.device) - start)
            if not callback() or self.diverged:
                break
        if self.diverged:
            return
        if self.trainer.epochs_done < self.settings.n_epochs:
            self.log(f"{self.name}: benchopt stopped the training after "
                     f"{self.trainer.epochs_done} of {self.settings.n_epochs} epochs "
                     "(timeout or max-runs); the weights are not cached.")
        elif self.cache is not None:
            self.cache.store(self.checkpoint(), self.log)

    def _diverge(self, reason: str):
        """Record the divergence and say it (once)."""
        if self.diverged:
            return
        self.diverged = True
        self.log(f"{self.name}: {reason} The run stops here: it is recorded as "
                 "diverged (training_diverged=1, NaN metrics) and no checkpoint "
                 "is saved.")

    def checkpoint(self) -> dict:
        """A self-describing checkpoint of the current weights."""
        return make_checkpoint(self.name, self.config, self.settings, self.key,
                               self.model, self.meta)

    def result(self) -> dict:
        """benchopt's get_result: test reconstructions and measurements.

        Test volumes are read one at a time (a lazy split holds one); only
        their cropped reconstructions are kept. inference_time_s counts the
        model's time, not the reading."""
        self.model.eval()
        reset = getattr(self.model, "reset_measurements", None)
        if reset is not None:
            reset()
        elapsed, recon = 0.0, []
        n_slices = self.test.n_slices_total
        if not self.diverged:
            progress = Progress(f"{self.name}: reconstructing the test split", n_slices)
            try:
                for i in range(len(self.test)):  # one chunk of slices at a time
                    x, seconds, problem = self._reconstruct_checked(i)
                    elapsed += seconds
                    recon.append(x)
                    progress.update(x.shape[0])
                    if problem is not None:
                        self._diverge(problem)
                        break
            except TrainingDiverged as err:  # e.g. the DEQ's forward solve
                self._diverge(f"On the test split: {err}")
            finally:
                progress.close()
        if self.diverged:
            recon = [torch.full((self.test.n_slices(i), *self.test.target_size(i)),
                                float("nan")) for i in range(len(self.test))]
        trained = getattr(self.model, "n_iter", float("nan"))
        epochs = self.meta["train_epochs"]
        result = dict(
            recon=recon,
            inference_time_s=elapsed / max(n_slices, 1),
            train_time_s=self.meta["train_time_s"],
            train_time_per_epoch_s=(self.meta["train_time_s"] / epochs if epochs
                                    else float("nan")),
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
        if self.pretrained_sha256 is not None:
            result["pretrained_sha256"] = self.pretrained_sha256
        return result

    def _reconstruct_checked(self, i: int):
        """(reconstruction, model seconds, problem or None) of test volume i,
        read and reconstructed chunk by chunk (data.split.Split.chunks, whole
        batches each)."""
        out, seconds = [], 0.0
        for m in self.test.chunks(i, multiple_of=self.settings.batch_size):
            start = timed(self.device)
            x = self._reconstruct(m)
            seconds += timed(self.device) - start
            out.append(x)
            problem = self._output_problem(m, x)
            if problem is not None:
                return torch.cat(out), seconds, problem
        return torch.cat(out), seconds, None

    def _reconstruct(self, m):
        return reconstruct(self.model, m, n_iter=self.test_iterations,
                           batch_size=self.settings.batch_size, device=self.device,
                           density_compensation=self.settings.density_compensation,
                           **self.inference_options)

    def _output_problem(self, m, x) -> str | None:
        """Why the reconstruction x of test volume m is no result, or None
        (module doc)."""
        if not torch.isfinite(x).all():
            return (f"The reconstruction of test volume {m.name!r} is not "
                    f"finite (NaN or inf); {self._advice()}")
        peak = float((x.flatten(1).amax(1) / self._scales(m)).max())
        if peak > OUTPUT_BOUND:
            return (f"The reconstruction of test volume {m.name!r} peaks at "
                    f"{peak:.3g} times its zero-filled image's maximum (more "
                    f"than {OUTPUT_BOUND:g}); {self._advice()}")
        return None

    def _advice(self) -> str:
        advice = (f"lower the learning rate (lr={self.settings.lr:g})"
                  if self.settings.n_epochs else "check the pretrained weights")
        if self.test_iterations is not None:
            advice += f" or use fewer test_iterations ({self.test_iterations})"
        return advice + "."

    def _scales(self, m) -> torch.Tensor:
        """(S,) the zero-filled maxima of test volume m's slices, as the
        model's input is scaled (data.slices_batch)."""
        step = self.settings.batch_size
        return torch.cat([
            slices_batch(m.y[s:s + step], m.smaps[s:s + step],
                         None if m.mask is None else m.mask[s:s + step],
                         m.traj, m.dcf, self.settings.density_compensation).scale
            for s in range(0, m.y.shape[0], step)]).cpu()
