"""A learned solver's life inside benchopt: train (or reuse), then reconstruct.

`LearnedRun(training, test, inference)` is what a benchopt solver file
delegates to (benchmark_utils/learned_solver.py builds it). The training
lifecycle (the model, train-or-reuse under the checkpoint cache's lock, the
memory meter, divergence) is learned/lifecycle.py's `Training`; this module
adds what a reconstruction network does at test time. Its `run(callback)`
follows benchopt's "callback" sampling strategy: one callback before
training (the untrained model, time 0) and one after every epoch, so the
result file holds the test metrics against training time; with weights
reused from the cache, or pretrained weights evaluated as they are, one
callback, the test set reconstructed once.

Divergence is a result, never a score. A training that diverges (training.py:
a non-finite loss, or one past GROWTH_BOUND) or a test reconstruction that is
not finite or peaks above OUTPUT_BOUND times its slice's zero-filled maximum
(`data.slice_scale`; the DEQ's forward solve blowing up, DEQDivergedError,
counts too) stops the run (Training.diverge): the console says what happened
and what to change, the callback is called once more with NaN
reconstructions and training_diverged = 1 (the run's last point), and no
checkpoint is saved.

`result()` reconstructs the test split and reports:

- inference_time_s: wall-clock seconds per test slice (device synchronised);
- the training's measurements (Training.measurements: train_peak_memory_mb,
  saved_tensors_mb, train_time_s, train_time_per_epoch_s, train_loss,
  train_epochs, reused_checkpoint, training_diverged), those recorded when
  the weights were trained if they were reused;
- train_iterations / inference_iterations: inner iterations at training and
  at test time;
- whatever the model's `measurements()` hook returns (see learned/__init__).
"""

import torch

from ..data.split import as_split
from ..progress import Progress
from .data import reconstruct, slices_batch
from .device import timed
from .lifecycle import Inference, Outcome, Training, model_maps
from .models import check_test_iterations
from .training import TrainingDiverged


def check_training_split(name: str, train) -> tuple[bool, str | None]:
    """benchopt's skip(): (True, reason) when there is nothing to train on."""
    train = as_split(train)
    if not len(train):
        return True, f"{name} is a learned solver: the dataset has no training split."
    if not train.has_targets:
        return True, f"{name} needs targets on the training split."
    return False, None


OUTPUT_BOUND = 10.0  # a test image brighter than 10x its zero-filled image diverged


class LearnedRun:
    """Train-or-reuse one model and reconstruct the test measurements.

    Args:
        training: the model's training lifecycle (lifecycle.Training).
        test: the test split (a data.split.Split, or a list of Measurement),
            given the model's coil maps (the training's `smaps`).
        inference: test-time options, outside the checkpoint key
            (lifecycle.Inference; None: as trained).
    """

    def __init__(self, training: Training, test, inference: Inference | None = None):
        self.training = training
        self.name, self.model = training.name, training.model
        self.inference = Inference() if inference is None else inference
        self.test = model_maps(test, training.smaps, training.name)
        check_test_iterations(self.name, self.inference.iterations, self.model)

    @property
    def settings(self):
        return self.training.settings

    @property
    def device(self):
        return self.training.device

    def run(self, callback):
        """The benchopt curve (module doc)."""
        outcome = self.training.run(before=callback, after_epoch=lambda _: callback())
        if outcome in (Outcome.REUSED, Outcome.PRETRAINED, Outcome.DIVERGED):
            callback()  # the reused / pretrained model's point, or the diverged one

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
        if not self.training.diverged:
            progress = Progress(f"{self.name}: reconstructing the test split", n_slices)
            try:
                for i in range(len(self.test)):  # one chunk of slices at a time
                    x, seconds, problem = self._reconstruct_checked(i)
                    elapsed += seconds
                    recon.append(x)
                    progress.update(x.shape[0])
                    if problem is not None:
                        self.training.diverge(problem)
                        break
            except TrainingDiverged as err:  # e.g. the DEQ's forward solve
                self.training.diverge(f"On the test split: {err}")
            finally:
                progress.close()
        if self.training.diverged:
            recon = [torch.full((self.test.n_slices(i), *self.test.target_size(i)),
                                float("nan")) for i in range(len(self.test))]
        trained = getattr(self.model, "n_iter", float("nan"))
        iterations = self.inference.iterations
        result = dict(
            recon=recon,
            inference_time_s=elapsed / max(n_slices, 1),
            **self.training.measurements(),
            train_iterations=trained,
            inference_iterations=trained if iterations is None else iterations,
        )
        measurements = getattr(self.model, "measurements", None)
        if measurements is not None:
            result.update(measurements())
        if self.training.pretrained_sha256 is not None:
            result["pretrained_sha256"] = self.training.pretrained_sha256
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
        return reconstruct(self.model, m, n_iter=self.inference.iterations,
                           batch_size=self.settings.batch_size, device=self.device,
                           density_compensation=self.settings.density_compensation,
                           **self.inference.keywords())

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
        advice = self.training.advice()
        if self.inference.iterations is not None:
            advice += f" or use fewer test_iterations ({self.inference.iterations})"
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
