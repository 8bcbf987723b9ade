"""A linear SENSE problem with a Gaussian prior: its posterior in closed form.

Real image x (8 x 8) with prior N(mu, Sigma) (an exponential covariance,
length 1.5 pixels, variance 0.25, mean a smooth image near 1), 3 smooth coil
maps normalised to sum_c |S_c|^2 = 1, 5 of 8 columns sampled, complex noise
of standard deviation s = 0.2 per real component. For real x the posterior
is Gaussian with precision P = Sigma^-1 + Re(A^H A) / s^2 and mean
P^-1 (Sigma^-1 mu + Re(A^H y) / s^2); Re(A^H A) is built column by column
from the operator itself.
"""

from dataclasses import dataclass

import torch

from benchmark_mri.physics import Sense

N, COILS, NOISE = 8, 3, 0.2


@dataclass
class GaussianProblem:
    physics: Sense  # batch of one
    y: torch.Tensor  # (1, C, N, N)
    mean: torch.Tensor  # (N*N,) float64: the posterior's
    variance: torch.Tensor  # (N*N,) float64: the posterior's, per pixel
    precision: torch.Tensor  # (N*N, N*N) float64: the posterior's
    prior_mean: torch.Tensor  # (N*N,) float32
    prior_precision: torch.Tensor  # (N*N, N*N) float32

    def prior_score(self, x, sigma):
        """grad log N(mu, Sigma) at x (B, N, N), whatever sigma."""
        flat = x.reshape(x.shape[0], -1)
        return (-(flat - self.prior_mean) @ self.prior_precision).reshape(x.shape)

    def batch(self, n: int):
        """(physics, y) of n copies (one chain each)."""
        return (Sense(self.physics.mask.expand(n, 1, 1, N),
                      self.physics.smaps.expand(n, COILS, N, N).contiguous()),
                self.y.expand(n, COILS, N, N))


def gaussian_problem(seed: int = 0) -> GaussianProblem:
    g = torch.Generator().manual_seed(seed)
    maps = torch.view_as_complex(torch.randn(COILS, N, N, 2, generator=g))
    freq = torch.fft.fftfreq(N).abs()
    low = (freq[:, None] < 0.2) & (freq[None] < 0.2)
    maps = torch.fft.ifft2(torch.fft.fft2(maps) * low)
    maps = (maps / (maps.abs() ** 2).sum(0).sqrt()).to(torch.complex64)
    mask = torch.zeros(1, 1, 1, N, dtype=torch.bool)
    mask[..., [0, 2, 3, 4, 6]] = True
    physics = Sense(mask, maps[None])

    i, j = torch.meshgrid(torch.arange(N), torch.arange(N), indexing="ij")
    pos = torch.stack([i.flatten(), j.flatten()], 1).double()
    sigma = 0.25 * torch.exp(-torch.cdist(pos, pos) / 1.5)
    mu = 1 + 0.3 * torch.cos(pos[:, 0] / 2) * torch.sin(pos[:, 1] / 3)
    x_true = mu + torch.linalg.cholesky(sigma) @ torch.randn(
        N * N, dtype=torch.float64, generator=g)
    y = physics(x_true.reshape(1, N, N).to(torch.complex64))
    noise = torch.view_as_complex(torch.randn(*y.shape, 2, generator=g))
    y = y + NOISE * noise * mask

    basis = torch.eye(N * N).reshape(N * N, N, N).to(torch.complex64)
    many = Sense(mask.expand(N * N, 1, 1, N),
                 maps[None].expand(N * N, COILS, N, N).contiguous())
    normal = many.normal(basis).real.reshape(N * N, N * N).double().T  # Re A^H A
    adjoint_y = physics.adjoint(y).real.reshape(-1).double()
    precision = torch.linalg.inv(sigma) + normal / NOISE**2
    covariance = torch.linalg.inv(precision)
    mean = covariance @ (torch.linalg.solve(sigma, mu) + adjoint_y / NOISE**2)
    return GaussianProblem(physics, y, mean, covariance.diagonal().clone(), precision,
                           mu.float(), torch.linalg.inv(sigma).float())
