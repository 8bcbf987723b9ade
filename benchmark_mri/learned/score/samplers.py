"""Annealed Langevin dynamics and annealed Hamiltonian Monte Carlo on the
posterior of a linear inverse problem.

Ramzi, Remy, Lanusse, Starck, Ciuciu, "Denoising Score-Matching for
Uncertainty Quantification in Inverse Problems" (NeurIPS 2020 workshop on
deep learning and inverse problems, arXiv:2011.08698): the posterior score is
the prior's, from a noise-conditional denoiser, plus the likelihood's, and
annealed HMC samples it. Song & Ermon (NeurIPS 2019), algorithm 1: annealed
Langevin dynamics.

Shapes. The sampler's state x is (B, H, W) float32, real (the prior is on
real images, score/__init__.py); y (B, C, H, W) complex64 and the operator
`physics` (image (B, H, W) complex -> k-space) of the same B; a score
function is called as score(x, sigma) -> (B, H, W) with sigma a float, the
current noise level (a score may ignore it: a fixed prior).

- `posterior_score(prior, physics, y, sigma_y)`: score(x, sigma) =
  prior(x, sigma) + Re A^H (y - A x) / (sigma_y^2 + sigma^2). The likelihood
  is N(A x, sigma_y^2) per real component of every k-space sample
  (noise.py), annealed as Jalal et al. (NeurIPS 2021) do: at level sigma
  the state is a noisy image x0 + sigma z, whose k-space misfit has
  about sigma_y^2 + sigma^2 variance (||A|| <= 1 for SENSE with normalised
  maps), so early levels are not pinned to the data. For real x the
  gradient of -||A x - y||^2 / (2 s^2) is Re A^H (y - A x) / s^2.
- `annealed_langevin`: for each level sigma_i (decreasing), n_steps of
  x <- x + (alpha_i / 2) score(x, sigma_i) + sqrt(alpha_i) z, alpha_i =
  step_size * sigma_i^2 (Song & Ermon's alpha_i = eps sigma_i^2 / sigma_L^2,
  with step_size = eps / sigma_L^2: the step relative to the level).
- `annealed_hmc`: for each level, n_steps iterations of: momentum p ~ N(0, I)
  drawn afresh, n_leapfrog leapfrog steps of length h_i = step_size *
  sigma_i (half step on p, full step on x, half step on p), and the end
  state kept. No Metropolis correction: a learned prior gives a score, not a
  log density, so the acceptance ratio cannot be computed; the
  discretisation bias is O(h^2) and the oracle test (tests/learned/score)
  bounds it on a Gaussian posterior. One leapfrog step is a Langevin step of
  alpha = h^2; several, with momentum, move further per score evaluation.

Divergence: after each level the state must be finite and below
STATE_BOUND (the images are normalised to a maximum near 1); otherwise
SamplerDiverged is raised, naming the level and the step size to lower.
"""

import math
from dataclasses import dataclass

import torch

STATE_BOUND = 1e3
METHODS = ("hmc", "langevin")


class SamplerDiverged(FloatingPointError):
    """The sampler's state became non-finite or unbounded (the message says
    where and what to change)."""


@dataclass(frozen=True)
class SamplerSettings:
    """How the posterior is sampled at test time (not in the checkpoint key).

    method: "hmc" or "langevin"; n_samples: independent chains per test
    slice (their end states are the samples); n_steps: iterations per noise
    level; step_size: Langevin's alpha_i / sigma_i^2, HMC's h_i / sigma_i
    (None: DEFAULT_STEP[method]); n_leapfrog: leapfrog steps per HMC
    iteration; sigma_y: the likelihood's noise level per real component, in
    units of the normalised k-space (the slice divided by its zero-filled
    image's maximum), or None to estimate it per slice (noise.py);
    sample_block: chains drawn together (one benchopt point after each
    block); slices: test slices per batch.
    """

    method: str = "hmc"
    n_samples: int = 8
    n_steps: int = 3
    step_size: float | None = None
    n_leapfrog: int = 4
    sigma_y: float | None = None
    sample_block: int = 2
    slices: int = 4

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"Unknown sampler {self.method!r}: use one of {METHODS}.")
        for name in ("n_samples", "n_steps", "n_leapfrog", "sample_block", "slices"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1 (got {value!r}).")
        check_positive("step_size", self.step_size, none_ok=True)
        check_positive("sigma_y", self.sigma_y, none_ok=True)

    @property
    def step(self) -> float:
        return DEFAULT_STEP[self.method] if self.step_size is None else self.step_size


DEFAULT_STEP = {"langevin": 0.5, "hmc": 0.6}


def check_positive(name: str, value, none_ok: bool = False):
    """Raise ValueError unless value is a finite number > 0 (or None when
    none_ok)."""
    if value is None and none_ok:
        return
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number > 0 (got {value!r}).")


def check_sigmas(sigmas) -> list[float]:
    """The noise levels as floats; ValueError unless positive and
    non-increasing (at least one)."""
    sigmas = [float(s) for s in sigmas]
    if not sigmas:
        raise ValueError("The sampler needs at least one noise level.")
    for s in sigmas:
        check_positive("every noise level sigma", s)
    if any(b > a for a, b in zip(sigmas, sigmas[1:])):
        raise ValueError(f"The noise levels must not increase (got {sigmas}).")
    return sigmas


def likelihood_score(physics, y: torch.Tensor, sigma_y):
    """score(x, sigma) = Re A^H (y - A x) / (sigma_y^2 + sigma^2), x real
    (B, H, W); sigma_y a float or (B,) tensor."""
    sigma_y = torch.as_tensor(sigma_y, dtype=torch.float32, device=y.device)
    variance_y = (sigma_y**2).reshape(-1, 1, 1) if sigma_y.ndim else sigma_y**2

    def score(x, sigma):
        residual = y - physics(x.to(torch.complex64))
        return physics.adjoint(residual).real / (variance_y + sigma**2)

    return score


def posterior_score(prior, physics, y: torch.Tensor, sigma_y):
    """score(x, sigma) = prior(x, sigma) + likelihood_score (module doc)."""
    likelihood = likelihood_score(physics, y, sigma_y)

    def score(x, sigma):
        return prior(x, sigma) + likelihood(x, sigma)

    return score


def _check_state(x: torch.Tensor, level: int, sigma: float, name: str, step: float):
    if not bool(torch.isfinite(x).all()) or float(x.abs().max()) > STATE_BOUND:
        what = ("not finite (NaN or inf)" if not bool(torch.isfinite(x).all())
                else f"above {STATE_BOUND:g} times the image's scale")
        raise SamplerDiverged(
            f"The {name} sampler diverged: its state is {what} after noise level "
            f"{level + 1} (sigma={sigma:.3g}); lower the step size "
            f"(step_size={step:g}).")


def _randn(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype,
                        device=generator.device if generator is not None else x.device)
    return noise.to(x.device)


@torch.no_grad()
def annealed_langevin(score, x: torch.Tensor, sigmas, n_steps: int,
                      step_size: float, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
    """Annealed Langevin dynamics from x (B, H, W) real; returns the end
    state (module doc). generator: the noise's (None: torch's global one)."""
    sigmas = check_sigmas(sigmas)
    check_positive("step_size", step_size)
    for level, sigma in enumerate(sigmas):
        alpha = step_size * sigma**2
        for _ in range(n_steps):
            x = x + 0.5 * alpha * score(x, sigma) + math.sqrt(alpha) * _randn(
                x, generator)
        _check_state(x, level, sigma, "Langevin", step_size)
    return x


@torch.no_grad()
def annealed_hmc(score, x: torch.Tensor, sigmas, n_steps: int, step_size: float,
                 n_leapfrog: int = 3, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
    """Annealed HMC without Metropolis correction from x (B, H, W) real;
    returns the end state (module doc). Each iteration evaluates the score
    n_leapfrog times (the last gradient of one iteration starts the next)."""
    sigmas = check_sigmas(sigmas)
    check_positive("step_size", step_size)
    for level, sigma in enumerate(sigmas):
        h = step_size * sigma
        grad = score(x, sigma)
        for _ in range(n_steps):
            p = _randn(x, generator)
            for _ in range(n_leapfrog):
                p = p + 0.5 * h * grad
                x = x + h * p
                grad = score(x, sigma)
                p = p + 0.5 * h * grad
        _check_state(x, level, sigma, "HMC", step_size)
    return x


def sample(score, x0: torch.Tensor, sigmas, settings: SamplerSettings,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One end state per chain of x0 (B, H, W) with the settings' method."""
    if settings.method == "langevin":
        return annealed_langevin(score, x0, sigmas, settings.n_steps, settings.step,
                                 generator)
    return annealed_hmc(score, x0, sigmas, settings.n_steps, settings.step,
                        settings.n_leapfrog, generator)
