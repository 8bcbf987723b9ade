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
cache), memory.py (peak memory), device.py, lifecycle.py (`Training`: one
training lifecycle for every learned run: the model, train-or-reuse under
the cache's lock, the memory meter, divergence; `Inference` and
`Pretrained`, the test-time and starting-weight options), run.py
(`LearnedRun`, a reconstruction network's run: what a benchopt solver
delegates to). loupe.py learns a Cartesian sampling density with a U-Net or
XPDNet, and loupe_run.py is its run (the mask it proposes to the objective).
score/ is score-based posterior sampling (a DSM-trained
prior, annealed HMC / Langevin, posterior mean and std): its
ScorePosteriorRun takes the same Training.

A run outside benchopt:

    training = Training("xpdnet", model_config("xpdnet", n_iter=3), train,
                        TrainSettings(n_epochs=6, lr=2e-3, batch_size=1),
                        cache_dir="checkpoints")
    run = LearnedRun(training, test, Inference(iterations=None))
    run.run(lambda: True)        # trains, or reuses the cached weights
    recon = run.result()["recon"]
"""

from .checkpoint import CheckpointCache, cache_key, default_checkpoint_dir
from .data import Batch, make_batch, reconstruct
from .device import resolve_device
from .lifecycle import (
    SMAPS,
    Inference,
    Outcome,
    Pretrained,
    Training,
    TrainSampling,
)
from .losses import get_loss
from .memory import PeakMemory, saved_tensors_mb
from .models import MODELS, build_model, model_config
from .run import LearnedRun, check_training_split
from .training import Trainer, TrainingDiverged, TrainSettings, default_step, train_step

__all__ = [
    "MODELS",
    "SMAPS",
    "Batch",
    "CheckpointCache",
    "Inference",
    "LearnedRun",
    "Outcome",
    "PeakMemory",
    "Pretrained",
    "Trainer",
    "Training",
    "TrainSampling",
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
