"""Samplers: shapes, determinism, the likelihood's score, bad inputs, NaN."""

import pytest
import torch

from benchmark_mri.learned.score import (
    SamplerDiverged,
    SamplerSettings,
    annealed_hmc,
    annealed_langevin,
    estimate_sigma_y,
    likelihood_score,
    posterior_score,
)

from ..conftest import tiny_split
from .oracle import NOISE, gaussian_problem

SAMPLERS = {"langevin": lambda score, x, sigmas, g, **kw: annealed_langevin(
                score, x, sigmas, 3, 0.5, g, **kw),
            "hmc": lambda score, x, sigmas, g, **kw: annealed_hmc(
                score, x, sigmas, 2, 0.5, 2, g, **kw)}


@pytest.fixture(scope="module")
def problem():
    return gaussian_problem()


def _score(problem, n):
    physics, y = problem.batch(n)
    return posterior_score(problem.prior_score, physics, y, NOISE), physics, y


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_shape_dtype_and_determinism(problem, name):
    score, physics, y = _score(problem, 3)
    x0 = physics.adjoint(y).real.contiguous()
    runs = [SAMPLERS[name](score, x0, [0.3, 0.1], torch.Generator().manual_seed(5))
            for _ in range(2)]
    other = SAMPLERS[name](score, x0, [0.3, 0.1], torch.Generator().manual_seed(6))
    assert runs[0].shape == (3, 8, 8) and runs[0].dtype == torch.float32
    torch.testing.assert_close(runs[0], runs[1])
    assert not torch.allclose(runs[0], other)
    assert not torch.allclose(runs[0][0], runs[0][1])  # chains differ


def test_the_score_function_gets_each_level(problem):
    seen = []

    def prior(x, sigma):
        seen.append(sigma)
        return torch.zeros_like(x)

    physics, y = problem.batch(1)
    annealed_langevin(posterior_score(prior, physics, y, NOISE),
                      physics.adjoint(y).real, [0.5, 0.2], 2, 0.1)
    assert seen == [0.5, 0.5, 0.2, 0.2]


def test_likelihood_score_is_the_gradient_of_the_data_term(problem):
    """Re A^H (y - A x) / (s^2 + sigma^2) = -grad ||A x - y||^2 / (2 (s^2 +
    sigma^2)) for real x, by autograd."""
    physics, y = problem.batch(2)
    x = torch.randn(2, 8, 8, requires_grad=True)
    variance = NOISE**2 + 0.1**2
    loss = (physics(x.to(torch.complex64)) - y).abs().square().sum() / (2 * variance)
    loss.backward()
    score = likelihood_score(physics, y, NOISE)(x.detach(), 0.1)
    torch.testing.assert_close(score, -x.grad, rtol=1e-4, atol=1e-4)


def test_per_slice_noise_levels_broadcast(problem):
    physics, y = problem.batch(2)
    x = torch.randn(2, 8, 8)
    both = likelihood_score(physics, y, torch.tensor([0.2, 0.4]))(x, 0.0)
    first = likelihood_score(physics, y, 0.2)(x, 0.0)
    second = likelihood_score(physics, y, 0.4)(x, 0.0)
    torch.testing.assert_close(both, torch.stack([first[0], second[1]]))


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_a_nan_score_stops_the_sampler_naming_level_and_step(problem, name):
    physics, y = problem.batch(1)

    def nan_after_first_level(x, sigma):
        return torch.full_like(x, float("nan")) if sigma < 0.3 else -x

    with pytest.raises(SamplerDiverged, match=r"diverged: its state is not finite "
                       r"\(NaN or inf\) after noise level 2 \(sigma=0.1\); lower the "
                       r"step size \(step_size=0.5\)"):
        SAMPLERS[name](nan_after_first_level, physics.adjoint(y).real, [0.3, 0.1], None)


def test_an_exploding_state_is_divergence(problem):
    physics, y = problem.batch(1)
    with pytest.raises(SamplerDiverged, match="above 1000 times"):
        annealed_langevin(lambda x, s: 1e6 * torch.ones_like(x),
                          physics.adjoint(y).real, [1.0], 1, 1.0)


@pytest.mark.parametrize("sampler", [annealed_langevin, annealed_hmc])
@pytest.mark.parametrize("step", [0.0, -1.0, float("nan")])
def test_non_positive_step_size_is_refused(problem, sampler, step):
    physics, y = problem.batch(1)
    with pytest.raises(ValueError, match="step_size must be a finite number > 0"):
        sampler(problem.prior_score, physics.adjoint(y).real, [0.1], 1, step)


@pytest.mark.parametrize("sigmas, message", [
    ([0.1, 0.0], "every noise level sigma must be a finite number > 0"),
    ([-0.1], "every noise level sigma must be a finite number > 0"),
    ([0.1, 0.2], "The noise levels must not increase"),
    ([], "at least one noise level"),
])
def test_bad_noise_levels_are_refused(problem, sigmas, message):
    physics, y = problem.batch(1)
    with pytest.raises(ValueError, match=message):
        annealed_hmc(problem.prior_score, physics.adjoint(y).real, sigmas, 1, 0.1)


@pytest.mark.parametrize("field, value, message", [
    ("n_samples", 0, "n_samples must be an integer >= 1 \\(got 0\\)"),
    ("n_steps", 0, "n_steps must be an integer >= 1"),
    ("step_size", 0.0, "step_size must be a finite number > 0 \\(got 0.0\\)"),
    ("step_size", -0.1, "step_size must be a finite number > 0"),
    ("sigma_y", 0.0, "sigma_y must be a finite number > 0 \\(got 0.0\\)"),
    ("sigma_y", -1.0, "sigma_y must be a finite number > 0"),
    ("method", "mala", "Unknown sampler 'mala': use one of"),
])
def test_bad_sampler_settings_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        SamplerSettings(**{field: value})


def test_sampler_defaults():
    assert SamplerSettings().step == 0.6
    assert SamplerSettings(method="langevin").step == 0.5
    assert SamplerSettings(step_size=0.2).step == 0.2


def test_the_noise_estimate_finds_the_phantom_noise_within_20_percent():
    """Phantom k-space noise: complex, std 0.01 x the noiseless RSS peak
    (data/phantom.py), i.e. 0.00707 x the peak per real component. The
    estimate from the outer sixteenth of k-space overshoots by the signal
    left there (the phantom's edges), by 10-20 % at this size."""
    train, _ = tiny_split(n_train=1, image_size=128, n_coils=8, n_slices=2)
    m = train[0]
    truth = 0.01 / 2**0.5 * float(m.target.flatten(1).amax(1).mean())
    estimate = estimate_sigma_y(m.y, m.mask)
    assert estimate.shape == (2,) and estimate.dtype == torch.float32
    assert (estimate > truth).all() and (estimate < 1.25 * truth).all(), (estimate,
                                                                         truth)


def test_the_noise_estimate_of_pure_noise_is_unbiased():
    g = torch.Generator().manual_seed(0)
    y = 0.3 * torch.view_as_complex(torch.randn(2, 8, 128, 128, 2, generator=g))
    mask = torch.ones(2, 1, 1, 128, dtype=torch.bool)
    estimate = estimate_sigma_y(y, mask)
    torch.testing.assert_close(estimate, torch.full((2,), 0.3), rtol=0.05, atol=0)
