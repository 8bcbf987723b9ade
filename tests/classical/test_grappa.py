"""GRAPPA: agreement with pygrappa's mdgrappa, and bad input."""

import dataclasses
import sys

import numpy as np
import pytest
import torch

from benchmark_mri.classical import (
    check_grappa_inputs,
    grappa,
    grappa_fill,
    zero_filled,
)
from benchmark_mri.data import center_crop
from benchmark_mri.metrics import psnr
from benchmark_mri.physics import ifft2c, rss

from .conftest import real_measurement, tiny_measurement


def _sampled(m, s=0):
    return m.mask[s, 0].expand(m.y.shape[-2:]).bool()


def _pygrappa_image(y, kernel_size, lmbda):
    pygrappa = pytest.importorskip("pygrappa")
    filled = pygrappa.mdgrappa(y.numpy(), kernel_size=kernel_size, coil_axis=0,
                               lamda=lmbda)
    return rss(ifft2c(torch.from_numpy(filled)))


def _rel(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # pygrappa's
@pytest.mark.parametrize("mask_type", ["equispaced", "random"])
@pytest.mark.parametrize("kernel_size", [(5, 5), (3, 5)])
def test_tiny_matches_pygrappa(mask_type, kernel_size):
    m = tiny_measurement(mask_type, image_size=64)  # 5 ACS columns at 4x
    ours = rss(ifft2c(grappa_fill(m.y[0], _sampled(m), kernel_size, 0.01)))
    assert _rel(ours, _pygrappa_image(m.y[0], kernel_size, 0.01)) < 1e-6


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_large_kernel_matches_pygrappa():
    """9 x 7 = 63 window points: patterns found row-wise instead of as codes."""
    m = tiny_measurement("random", image_size=96)  # 8 ACS columns at 4x
    ours = rss(ifft2c(grappa_fill(m.y[0], _sampled(m), (9, 7), 0.01)))
    assert _rel(ours, _pygrappa_image(m.y[0], (9, 7), 0.01)) < 1e-6


@pytest.mark.parametrize("height", [1, 3, 7, 40])
@pytest.mark.parametrize("kernel_size", [(5, 5), (3, 5), (7, 3), (1, 3)])
def test_calibration_gram_matches_the_windows_product(kernel_size, height):
    """The row-lag Gram equals sum_w w^H w over the explicit windows, also
    for calibration blocks shorter than the kernel (every block cut)."""
    grappa_module = sys.modules["benchmark_mri.classical.grappa"]
    kh, kw = kernel_size
    calib = torch.randn(3, height, 6, dtype=torch.complex128,
                        generator=torch.Generator().manual_seed(0))
    windows = grappa_module._windows(calib, kh, kw)  # (C, H, n, kh, kw)
    a = windows.permute(1, 2, 3, 4, 0).reshape(-1, kh * kw * 3)
    torch.testing.assert_close(grappa_module.calibration_gram(calib, kh, kw),
                               a.mH @ a)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("name", ["espirit_brain_full_8ch", "loraks_mprage_4ch"])
def test_real_slice_matches_pygrappa_at_4x_equispaced(name):
    m = real_measurement(name, "equispaced")
    ours = rss(ifft2c(grappa_fill(m.y[0], _sampled(m), (5, 5), 0.01)))
    assert _rel(ours, _pygrappa_image(m.y[0], (5, 5), 0.01)) < 1e-6


@pytest.mark.parametrize("rows", [None, 63])  # even: (H, W, C) FFT; odd: ifft2c
def test_image_is_the_rss_of_the_filled_kspace(rows):
    if rows is None:
        m = tiny_measurement("equispaced", image_size=96, n_slices=1)
    else:
        m = real_measurement("loraks_mprage_4ch", crop_rows=rows)
        assert m.y.shape[-2] == rows
    filled = grappa_fill(m.y[0], _sampled(m))
    expected = center_crop(rss(ifft2c(filled))[None], m.target_size)
    torch.testing.assert_close(grappa(m), expected, rtol=1e-5,
                               atol=1e-6 * float(expected.max()))


@pytest.mark.parametrize("mask_type", ["equispaced", "random"])
def test_improves_on_zero_filled_and_keeps_measured_samples(mask_type):
    m = tiny_measurement(mask_type, image_size=96)
    filled = grappa_fill(m.y[0], _sampled(m))
    sampled = _sampled(m)
    assert torch.equal(filled[:, sampled], m.y[0][:, sampled])
    recon = grappa(m)
    assert recon.shape == m.target.shape and recon.dtype == torch.float32
    assert psnr(m.target, recon) > psnr(m.target, zero_filled(m)) + 1


def test_no_acs_is_refused():
    m = tiny_measurement()
    centre = m.y.shape[-1] // 2
    mask = m.mask.clone()
    mask[..., centre] = False
    m = dataclasses.replace(m, y=m.y * mask, mask=mask)
    with pytest.raises(ValueError, match="no autocalibration region"):
        check_grappa_inputs(m)
    with pytest.raises(ValueError, match="no autocalibration region"):
        grappa(m)


def test_kernel_larger_than_acs_is_refused():
    m = tiny_measurement(image_size=48)  # 4 ACS columns at 4x
    with pytest.raises(ValueError, match=r"kernel_size \(5, 5\) is larger than"):
        check_grappa_inputs(m, 5)
    with pytest.raises(ValueError, match="is larger than the autocalibration"):
        grappa(m, (5, 5))


@pytest.mark.parametrize("kernel_size", [4, (5, 4), 0])
def test_even_kernel_is_refused(kernel_size):
    m = tiny_measurement(image_size=64)
    with pytest.raises(ValueError, match="odd positive sizes"):
        grappa(m, kernel_size)


def test_negative_lambda_and_nan_are_refused():
    m = tiny_measurement(image_size=64)
    with pytest.raises(ValueError, match="lmbda .* must be >= 0; got -1"):
        grappa(m, 5, lmbda=-1)
    y = m.y.clone()
    y[0, 0, 3, 3] = float("nan")
    bad = dataclasses.replace(m, y=y)
    with pytest.raises(ValueError, match="NaN"):
        check_grappa_inputs(bad)
    with pytest.raises(ValueError, match="NaN"):
        grappa(bad)


def test_unfillable_holes_stay_zero_and_finite():
    """A gap wider than the kernel leaves its middle unfilled, as in pygrappa."""
    m = tiny_measurement(image_size=64)
    sampled = torch.zeros(64, 64, dtype=torch.bool)
    sampled[:, 28:36] = True  # ACS only: columns far from it have no source
    filled = grappa_fill(m.y[0] * sampled, sampled, 5)
    assert torch.isfinite(torch.view_as_real(filled)).all()
    assert filled[:, :, :20].abs().max() == 0
    assert filled[:, :, 36:38].abs().max() > 0
    measured = (m.y[0] * sampled)[:, sampled]
    np.testing.assert_array_equal(filled[:, sampled].numpy(), measured.numpy())
