"""LinearOperator.solve_normal: least squares by conjugate gradients on the
normal equations (CG-SENSE), against a dense solver."""

import pytest
import torch

from benchmark_mri.physics import DensityWeighted, NufftSense, Sense
from benchmark_mri.physics.trajectories import radial

from ..conftest import complex_randn


def _maps(B, C, H, W):
    smaps = complex_randn(B, C, H, W)
    return smaps / smaps.abs().pow(2).sum(1, keepdim=True).sqrt()


def test_recovers_the_image_of_a_well_posed_sense_problem():
    mask = torch.rand(2, 1, 1, 16) > 0.3
    op = Sense(mask, _maps(2, 4, 16, 16))
    x = complex_randn(2, 16, 16)
    estimate = op.solve_normal(op(x), n_iter=50)
    assert float((estimate - x).norm() / x.norm()) < 1e-4


def test_matches_dense_weighted_least_squares_on_a_nufft():
    traj = radial(8, acceleration=3)
    smaps = _maps(1, 2, 8, 8)
    dcf = torch.rand(traj.shape[0]) + 0.5
    op = DensityWeighted(NufftSense(traj, smaps), dcf)
    y = complex_randn(1, 2, traj.shape[0])
    # The operator as a dense matrix, column by column.
    basis = torch.eye(64, dtype=torch.complex64).reshape(64, 8, 8)
    A = torch.stack([op(b[None]).reshape(-1) for b in basis], dim=1)
    expected = torch.linalg.lstsq(A.to(torch.complex128),
                                  y.reshape(-1, 1).to(torch.complex128)).solution
    estimate = op.solve_normal(y, n_iter=200, tol=1e-7)
    error = (estimate.reshape(-1) - expected.reshape(-1)).norm() / expected.norm()
    assert float(error) < 1e-3


def test_bad_iteration_count_is_named():
    op = Sense(torch.ones(1, 1, 1, 4, dtype=torch.bool), _maps(1, 1, 4, 4))
    with pytest.raises(ValueError, match="n_iter must be an integer >= 1"):
        op.solve_normal(torch.zeros(1, 1, 4, 4, dtype=torch.complex64), n_iter=0)


