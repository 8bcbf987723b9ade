"""Learned reconstruction: models and the machinery they share.

Every model is a torch.nn.Module called as
`model(y, physics, n_iter=None, **inference_options) -> x`: y (B, C, H, W)
complex64 k-space (normalised per slice, see data.py), physics a
`benchmark_mri.physics.LinearOperator` (the batch's data term), x (B, H, W)
complex64; n_iter overrides the number of inner iterations at inference
(None = the trained count, `model.n_iter`); inference_options are a model's
own inference-only keywords (the DEQ's `tol`). Each model has one frozen
config dataclass (its defaults; named presets are instances of it), built
through one registry: `model_config(name, preset, **overrides)` and
`build_model(config)` (models.py).

A model may report measurements of its own (the hook `LearnedRun.result`
calls): `reset_measurements()` before the test reconstruction and
`measurements() -> dict[str, float]` after it, merged into the result next
to PSNR / SSIM (the DEQ's forward iterations, deq/model.py).

Shared: data.py (batches, per-slice scaling, `reconstruct`), losses.py,
training.py (`TrainSettings`, `train_step`, `Trainer`), checkpoint.py (the
cache), memory.py (peak memory), device.py, run.py (`LearnedRun`, what a
benchopt solver delegates to). score/ is score-based posterior sampling
(a DSM-trained prior, annealed HMC / Langevin, posterior mean and std), which
composes the same Trainer and checkpoint cache in its own ScorePosteriorRun.
"""

from .checkpoint import CheckpointCache, cache_key, default_checkpoint_dir
from .data import Batch, make_batch, reconstruct
from .device import resolve_device
from .losses import get_loss
from .memory import PeakMemory, saved_tensors_mb
from .models import MODELS, build_model, model_config
from .run import SMAPS, LearnedRun, check_training_split
from .training import Trainer, TrainingDiverged, TrainSettings, default_step, train_step

__all__ = [
    "MODELS",
    "SMAPS",
    "Batch",
    "CheckpointCache",
    "LearnedRun",
    "PeakMemory",
    "Trainer",
    "TrainingDiverged",
    "TrainSettings",
    "build_model",
    "cache_key",
    "check_training_split",
    "default_checkpoint_dir",
    "default_step",
    "get_loss",
    "make_batch",
    "model_config",
    "reconstruct",
    "resolve_device",
    "saved_tensors_mb",
    "train_step",
]
