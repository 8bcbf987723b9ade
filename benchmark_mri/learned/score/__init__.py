"""Score-based posterior sampling with uncertainty maps.

Ramzi, Remy, Lanusse, Starck, Ciuciu, "Denoising Score-Matching for
Uncertainty Quantification in Inverse Problems" (arXiv:2011.08698, 2020): a
noise-conditional denoiser trained by denoising score matching gives the
score of the prior; annealed HMC (or annealed Langevin dynamics) samples the
posterior of the MRI inverse problem under the exact SENSE forward model;
the sample mean is the reconstruction, their spread the uncertainty.

What the prior is on: real images. Training targets are magnitude images
(Batch.target, (B, h, w), normalised by the slice scale); the test-time
SENSE image is complex (B, H, W), but with phase-absorbing coil maps (the
learned solvers' ACS maps, or the objective's ESPIRiT maps with their phase
absorbed, docs/coil-maps.md) it is nearly real and positive (imaginary part
~6 % of the image in the object). So the prior is on real images of the
reconstruction grid (H, W), trained on the targets zero-padded from (h, w)
to (H, W), and the sampler runs on the real image x: its likelihood is that
of the complex k-space, ||y - A x||^2 with x real. A two-channel (real,
imaginary) prior trained on the same targets would learn an imaginary part
identically zero: it would spend capacity on a known answer and constrain
nothing more. The residual phase that the maps leave is data the model
cannot fit (a small misfit in the likelihood).

- network.py: `ScoreConfig` (registered as learned.model_config("score",
  preset)), `ScoreNet` (a small U-Net conditioned on
  sigma, output divided by sigma as in NCSNv2), `noise_levels` (the
  geometric ladder sigma_max .. sigma_min, L levels);
- dsm.py: `DSMStep`, the denoising score-matching step function of the
  shared Trainer (loss weighted by sigma^2, Song & Ermon);
- samplers.py: `annealed_langevin`, `annealed_hmc`, `posterior_score`,
  `SamplerSettings`, `SamplerDiverged`;
- noise.py: `estimate_sigma_y`, the likelihood's noise level from the outer
  k-space;
- run.py: `ScorePosteriorRun`, train-or-reuse (learned/lifecycle.py's
  Training with `dsm_step`) then sample (what the benchopt solver delegates
  to), and `PosteriorStats`.
"""

from .dsm import DSMStep
from .network import PRESETS, ScoreConfig, ScoreNet, noise_levels
from .noise import estimate_sigma_y
from .run import PosteriorStats, ScorePosteriorRun, dsm_step
from .samplers import (
    SamplerDiverged,
    SamplerSettings,
    annealed_hmc,
    annealed_langevin,
    likelihood_score,
    posterior_score,
)

__all__ = [
    "PRESETS",
    "DSMStep",
    "PosteriorStats",
    "SamplerDiverged",
    "SamplerSettings",
    "ScoreConfig",
    "ScoreNet",
    "ScorePosteriorRun",
    "annealed_hmc",
    "dsm_step",
    "annealed_langevin",
    "estimate_sigma_y",
    "likelihood_score",
    "noise_levels",
    "posterior_score",
]

