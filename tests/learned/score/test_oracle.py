"""The samplers against a Gaussian posterior known in closed form (the main
check of issue 19): empirical mean within 2 % and per-pixel variance within
10 % of the exact ones, for annealed Langevin and annealed HMC.

The prior score is the Gaussian's, which ignores sigma; the ladder is one
level, sigma = 1e-3, so the annealed likelihood's variance s^2 + sigma^2
differs from s^2 by 2.5e-5 (relative): the chains sample the exact
posterior, up to the discretisation bias of the unadjusted dynamics (bounded
here by the step sizes: Langevin alpha = 0.008, about 0.07 / the largest
curvature, HMC h = 0.07, 5 leapfrog steps). Samples: 400 (Langevin) / 200
(HMC) chains, 5 / 10 states each, spaced by 50 Langevin steps (more than
the slowest mode's relaxation, ~25 steps) / 2 HMC iterations, after a
burn-in: 2,000 samples each.
"""

import pytest
import torch

from benchmark_mri.learned.score import annealed_hmc, annealed_langevin, posterior_score

from .oracle import gaussian_problem

SIGMA = 1e-3
CASES = {
    # name: (sampler, chains, burn-in steps, states per chain, steps between, kw)
    "langevin": (annealed_langevin, 400, 100, 5, 50,
                 dict(step_size=0.008 / SIGMA**2)),
    "hmc": (annealed_hmc, 200, 10, 10, 2,
            dict(step_size=0.07 / SIGMA, n_leapfrog=5)),
}


@pytest.fixture(scope="module")
def problem():
    return gaussian_problem()


def draw(problem, name):
    sampler, n, burn, states, between, kw = CASES[name]
    physics, y = problem.batch(n)
    score = posterior_score(problem.prior_score, physics, y, 0.2)
    generator = torch.Generator().manual_seed(1)
    x = physics.adjoint(y).real.contiguous()
    x = sampler(score, x, [SIGMA], n_steps=burn, generator=generator, **kw)
    samples = []
    for _ in range(states):
        x = sampler(score, x, [SIGMA], n_steps=between, generator=generator, **kw)
        samples.append(x.reshape(n, -1).double())
    return torch.cat(samples)  # (n * states, 64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_posterior_mean_and_variance_match_the_closed_form(problem, name):
    samples = draw(problem, name)
    assert samples.shape[0] == 2000
    mean_error = (samples.mean(0) - problem.mean).norm() / problem.mean.norm()
    var_error = ((samples.var(0) - problem.variance).norm()
                 / problem.variance.norm())
    assert mean_error < 0.02, float(mean_error)
    assert var_error < 0.10, float(var_error)


def test_the_oracle_posterior_is_narrower_than_the_prior(problem):
    """The test would pass on a sampler that ignores the data if the
    likelihood were weak: it is not (variances shrink by at least 30 %)."""
    prior_variance = torch.linalg.inv(problem.prior_precision.double()).diagonal()
    assert (problem.variance < 0.7 * prior_variance).all()
