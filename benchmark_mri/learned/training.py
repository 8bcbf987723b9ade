"""One training loop for every learned model.

A model is a torch.nn.Module called as `model(y, physics, n_iter=None) -> x`
(y (B, C, H, W) complex64 normalised k-space, physics the batch's SENSE
operator, x (B, H, W) complex64). Training is composed, not inherited:
`train_step` takes the model, a `Batch`, a loss and an optimizer; what is
specific to a model lives in the model (e.g. an implicit backward as an
autograd.Function) or in the `step_fn` passed in (e.g. a loss over all
recurrent steps, GLEAM's per-module losses), called as
step_fn(model, batch, loss_fn) -> scalar loss. A model that trains in
stages (the layer-wise CNN, one block after the other) defines the hook
`start_epoch(epoch)`, which the Trainer calls before each epoch (0-based).

Divergence. A training stops with TrainingDiverged (what LearnedRun records
as a diverged run, never a score) when
- a step's loss is NaN or infinite (no update is made);
- a step's loss exceeds GROWTH_BOUND times the loss of an all-zero image on
  the same batch: the model's output is further from the target than ten
  targets (for L1: its magnitude is about ten times the target's); or
- an epoch's mean loss exceeds GROWTH_BOUND times that of the first epoch.
"""

from dataclasses import dataclass

import torch

from ..data.split import as_split
from ..progress import Progress, duration
from .data import (
    TRAIN_MASKS,
    Batch,
    loaded_batch,
    magnitude,
    model_keywords,
    training_loader,
)
from .losses import get_loss
from .memory import saved_tensors_mb

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class TrainSettings:
    """Everything about training that is not the model (all in the cache key).

    n_epochs: passes over the training slices (0: none, to evaluate
    pretrained weights as they are); lr: learning rate; batch_size:
    slices per step; loss: "l1", "l2", "ssim" or "ssim_l1"; optimizer: "adam",
    "adamw" or "sgd"; seed: weights initialisation and batch order;
    grad_clip: max gradient norm, or None; density_compensation: on
    non-Cartesian data, train and reconstruct with the density-compensated
    data term (NC-PDNet; data.types.data_term), or the plain one (False);
    init_sha256: the sha256 of the pretrained weights training starts from
    (learned/pretrained.py), None for a random initialisation; train_masks:
    "fixed" (each training slice keeps its mask) or "random" (a fresh mask
    per slice and epoch, fastMRI's training; learned.data.TrainingSlices).
    """

    n_epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 4
    loss: str = "l1"
    optimizer: str = "adam"
    seed: int = 0
    grad_clip: float | None = 1.0
    density_compensation: bool = True
    init_sha256: str | None = None
    train_masks: str = "fixed"

    def __post_init__(self):
        get_loss(self.loss)
        if self.train_masks not in TRAIN_MASKS:
            raise ValueError(f"train_masks={self.train_masks!r}: use one of "
                             f"{TRAIN_MASKS}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"Unknown optimizer {self.optimizer!r}: "
                f"use one of {sorted(OPTIMIZERS)}."
            )
        for name, least in (("n_epochs", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= least):
                raise ValueError(f"{name} must be an integer >= {least} "
                                 f"(got {value!r}).")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0 (got {self.lr!r}).")


def default_step(model, batch: Batch, loss_fn) -> torch.Tensor:
    """Loss of the model's final image: loss(|x| cropped, target)."""
    x = model(batch.y, batch.physics, **model_keywords(model, batch.target_size))
    return loss_fn(magnitude(x, batch.target_size), batch.target)


GROWTH_BOUND = 10.0  # see the module docstring


class TrainingDiverged(FloatingPointError):
    """The training diverged (see the module docstring); the message says how."""


def zero_image_loss(batch: Batch, loss_fn) -> float:
    """The loss of an all-zero image on `batch` (the divergence bound's unit)."""
    with torch.no_grad():
        return float(loss_fn(torch.zeros_like(batch.target), batch.target))


def train_step(model, batch: Batch, loss_fn, optimizer, step_fn=default_step,
               grad_clip: float | None = None) -> float:
    """One optimisation step; returns the loss value.

    Raises TrainingDiverged, and makes no update, when the loss is not finite
    or exceeds GROWTH_BOUND times `zero_image_loss` of the batch.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = step_fn(model, batch, loss_fn)
    value = float(loss.detach())
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"Training diverged: the loss is {value}")
    bound = GROWTH_BOUND * zero_image_loss(batch, loss_fn)
    if value > bound:
        raise TrainingDiverged(
            f"Training diverged: the loss {value:.3g} exceeds {GROWTH_BOUND:g} "
            f"times that of an all-zero image ({bound / GROWTH_BOUND:.3g})")
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach())


class Trainer:
    """Drives epochs of `train_step` over a training split.

    train: a data.split.Split (or a list of Measurement) with targets, read
    through learned.data.training_loader (slices streamed from disk for a
    lazy split; `workers` processes, loader_workers() by default); the batch
    order is drawn from a generator seeded by settings.seed. `epoch()` runs
    one pass and returns the mean training loss; `epochs_done` counts them.
    """

    def __init__(self, model, train, settings: TrainSettings, device="cpu",
                 step_fn=default_step, workers=None, name: str = "training",
                 progress_stream=None):
        train = as_split(train)
        if not len(train):
            raise ValueError("No training measurement: a learned model needs a "
                             "training split.")
        if not train.has_targets:
            raise ValueError("Every training measurement needs its target.")
        self.model, self.train, self.settings = model, train, settings
        self.device = torch.device(device)
        self.step_fn = step_fn
        self.loss_fn = get_loss(settings.loss)
        self.optimizer = OPTIMIZERS[settings.optimizer](model.parameters(),
                                                        lr=settings.lr)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.loader = training_loader(train, settings.batch_size, self.generator,
                                      settings.train_masks, settings.seed, workers,
                                      pin_memory=self.device.type == "cuda")
        self.name, self.progress_stream = name, progress_stream
        self.epochs_done, self.epoch_seconds = 0, []
        self.first_loss = self.last_loss = float("nan")
        self.saved_tensors_mb = 0.0  # max over steps, see memory.saved_tensors_mb

    def _measured_step(self, model, batch, loss_fn):
        out = {}

        def step():
            out["loss"] = self.step_fn(model, batch, loss_fn)

        self.saved_tensors_mb = max(self.saved_tensors_mb, saved_tensors_mb(step))
        return out["loss"]

    def epoch(self) -> float:
        start_epoch = getattr(self.model, "start_epoch", None)
        if start_epoch is not None:
            start_epoch(self.epochs_done)
        losses = []
        with self._progress() as progress:
            for raw in self.loader:
                batch = loaded_batch(raw, self.device,
                                     self.settings.density_compensation)
                try:
                    losses.append(train_step(self.model, batch, self.loss_fn,
                                             self.optimizer, self._measured_step,
                                             self.settings.grad_clip))
                except TrainingDiverged as err:
                    raise TrainingDiverged(
                        f"{err} (epoch {self.epochs_done + 1}, step "
                        f"{len(losses) + 1}); {self._advice()}"
                    ) from None
                progress.update(batch.y.shape[0], loss=losses[-1])
        mean = sum(losses) / len(losses)
        if self.epochs_done == 0:
            self.first_loss = mean
        elif mean > GROWTH_BOUND * self.first_loss:
            raise TrainingDiverged(
                f"Training diverged: the mean loss of epoch {self.epochs_done + 1} "
                f"({mean:.3g}) exceeds {GROWTH_BOUND:g} times that of epoch 1 "
                f"({self.first_loss:.3g}); {self._advice()}")
        self.epochs_done += 1
        self.last_loss = mean
        self.epoch_seconds.append(progress.elapsed)
        progress.mark(self._epoch_line(progress))
        return self.last_loss

    def _progress(self) -> Progress:
        """The progress of one epoch, in training slices (benchmark_mri.progress)."""
        epoch = f"epoch {self.epochs_done + 1}/{max(self.settings.n_epochs, 1)}"
        return Progress(f"{self.name}: {epoch}", self.train.n_slices_total,
                        stream=self.progress_stream)

    def _epoch_line(self, progress: Progress) -> str:
        """'name: epoch k/n: S slices in T (R slices/s), loss L; about E left'."""
        n = self.settings.n_epochs
        left = max(n - self.epochs_done, 0) * (sum(self.epoch_seconds)
                                               / len(self.epoch_seconds))
        return (f"{self.name}: epoch {self.epochs_done}/{n}: {progress.done} slices "
                f"in {duration(progress.elapsed)} ({progress.rate:.3g} slices/s), "
                f"loss {self.last_loss:.4g}"
                + (f"; about {duration(left)} left" if left else ""))

    def _advice(self) -> str:
        return f"lower the learning rate (lr={self.settings.lr:g})."
