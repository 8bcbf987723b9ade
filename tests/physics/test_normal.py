"""normal() (A^H A, overridden where cheaper) equals adjoint(forward())."""

import pytest
import torch

from benchmark_mri.physics import CartesianSampling, Sense

from .operators import OPERATORS, _complex


def _check_normal(op, shape):
    x = _complex(*shape)
    expected = op.adjoint(op(x))
    scale = torch.linalg.vector_norm(expected)
    assert torch.linalg.vector_norm(op.normal(x) - expected) / scale < 1e-5


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_normal_is_adjoint_of_forward(name):
    _check_normal(*OPERATORS[name]())


@pytest.mark.parametrize("height, width", [(20, 24), (21, 24), (20, 25), (9, 7)])
def test_sense_normal_even_and_odd_sizes(height, width):
    mask = CartesianSampling("random", 4).mask("normal", 2, width)
    _check_normal(Sense(mask, _complex(2, 3, height, width)), (2, height, width))


def test_sense_normal_keeps_dtype_and_device():
    mask = CartesianSampling("random", 4).mask("normal", 2, 24)
    op = Sense(mask, _complex(2, 3, 20, 24)).to("meta")
    out = op.normal(_complex(2, 20, 24).to("meta"))
    assert out.dtype == torch.complex64 and out.device.type == "meta"


@pytest.mark.parametrize("mask_rows", [1, 20])  # column mask (1D FFTs), 2D mask
def test_sense_normal_in_place_and_differentiable_paths_agree(mask_rows):
    # On the CPU without autograd, normal() works in place in one buffer
    # (scipy.fft); with autograd it takes torch's path: same values, and the
    # gradient of <x, A^H A x> is 2 A^H A x.
    if mask_rows == 1:
        mask = CartesianSampling("random", 4).mask("normal", 2, 24)
    else:
        mask = (torch.rand(2, 1, 20, 24, generator=torch.Generator().manual_seed(0))
                < 0.4).float()
    op = Sense(mask, _complex(2, 3, 20, 24))
    x = _complex(2, 20, 24)
    in_place = op.normal(x)
    x.requires_grad_(True)
    differentiable = op.normal(x)
    assert differentiable.requires_grad
    torch.testing.assert_close(in_place, differentiable.detach(), rtol=1e-5, atol=1e-5)
    energy = torch.sum(x.conj() * differentiable).real
    (grad,) = torch.autograd.grad(energy, x)
    torch.testing.assert_close(grad, 2 * in_place, rtol=1e-4, atol=1e-4)


def test_sense_normal_leaves_its_inputs_unchanged():
    mask = CartesianSampling("random", 4).mask("normal", 2, 24)
    smaps = _complex(2, 3, 20, 24)
    x = _complex(2, 20, 24)
    op = Sense(mask, smaps.clone())
    before = x.clone()
    op.normal(x)
    assert torch.equal(x, before) and torch.equal(op.smaps, smaps)
