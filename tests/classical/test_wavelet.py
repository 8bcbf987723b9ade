"""The wavelet transform: PyWavelets' coefficients, a tight frame, adjoint inverse."""

import numpy as np
import pytest
import pywt
import torch

from benchmark_mri.classical.wavelet import Wavelet, soft_threshold

from ..conftest import complex_randn


@pytest.mark.parametrize("shape", [(32, 32), (30, 20)])
@pytest.mark.parametrize("backend", ["conv", "pywt", "ptwt"])
def test_tight_frame_and_adjoint(shape, backend):
    w = Wavelet(shape, backend=backend)
    x = complex_randn(3, *shape)
    c = w.forward(x)
    assert c.shape == (2, 3, w.n_coeffs) and c.dtype == torch.float32
    assert torch.allclose(w.inverse(c), x, atol=1e-5)  # W^T W = I
    assert torch.isclose((c**2).sum(), (x.abs() ** 2).sum(), rtol=1e-5)
    d = torch.randn_like(c)
    lhs = (c * d).sum()
    rhs = torch.sum(x.real * w.inverse(d).real + x.imag * w.inverse(d).imag)
    assert torch.isclose(lhs, rhs, rtol=1e-4)


def test_backends_agree_and_match_pywavelets():
    x = complex_randn(2, 40, 36)
    a = Wavelet((40, 36), backend="pywt").forward(x)
    b = Wavelet((40, 36), backend="ptwt").forward(x)
    # Same coefficients, possibly in another order of the detail bands.
    assert torch.allclose(a.sort(-1).values, b.sort(-1).values, atol=1e-5)
    ref = pywt.wavedecn(x[0].numpy(), "db4", mode="zero")
    ref = np.concatenate([ref[0].ravel()] + [v.ravel() for d in ref[1:]
                                              for v in d.values()])
    ours = (a[0, 0] + 1j * a[1, 0]).numpy()
    np.testing.assert_allclose(np.sort(np.abs(ours)), np.sort(np.abs(ref)),
                               atol=1e-5)


@pytest.mark.parametrize("wavelet", ["db4", "haar", "sym3", "coif1"])
@pytest.mark.parametrize("shape", [(64, 64), (45, 38)])
def test_conv_backend_is_pywavelets_in_its_order(wavelet, shape):
    # Same coefficients in the same flat order, and the same inverse.
    x = complex_randn(2, *shape)
    conv = Wavelet(shape, wavelet, backend="conv")
    pywt_ = Wavelet(shape, wavelet, backend="pywt")
    c = conv.forward(x)
    torch.testing.assert_close(c, pywt_.forward(x), rtol=0, atol=2e-6)
    d = torch.randn_like(c)
    torch.testing.assert_close(conv.inverse(d), pywt_.inverse(d), rtol=0, atol=2e-5)


def test_conv_is_the_default_where_it_applies():
    assert Wavelet((32, 32)).backend == "conv"
    assert Wavelet((32, 32), "bior2.2").backend is None  # pywt / ptwt by device
    with pytest.raises(ValueError, match="orthogonal wavelet and mode 'zero'"):
        Wavelet((32, 32), "bior2.2", backend="conv")
    with pytest.raises(ValueError, match="orthogonal wavelet and mode 'zero'"):
        Wavelet((32, 32), mode="symmetric", backend="conv")


def test_soft_threshold_in_place():
    c = torch.tensor([[3.0, 0.1], [4.0, 0.0]])
    out = soft_threshold(c, 1.0, in_place=True)
    assert out.data_ptr() == c.data_ptr()
    torch.testing.assert_close(c, torch.tensor([[2.4, 0.0], [3.2, 0.0]]))


def test_soft_threshold_shrinks_complex_magnitude():
    c = torch.tensor([[3.0, 0.1, 0.0], [4.0, 0.0, 0.0]])  # 3+4i, 0.1, 0
    out = soft_threshold(c, 1.0)
    torch.testing.assert_close(out, torch.tensor([[2.4, 0.0, 0.0], [3.2, 0.0, 0.0]]))
    torch.testing.assert_close(soft_threshold(c, 0.0), c)  # no 0 * inf at 0


def test_bad_level_and_backend_are_refused():
    with pytest.raises(ValueError, match="level must be >= 1"):
        Wavelet((8, 8))  # too small for one db4 level
    with pytest.raises(ValueError, match="backend"):
        Wavelet((32, 32), backend="numpy")
