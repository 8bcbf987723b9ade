"""Wavelet-l1 ISTA / FISTA: agreement with sigpy's L1WaveletRecon, descent, input."""

import dataclasses

import numpy as np
import pytest
import torch

from benchmark_mri.classical import zero_filled
from benchmark_mri.classical.wavelet_l1 import WaveletL1, wavelet_l1
from benchmark_mri.metrics import psnr

from .conftest import real_measurement, tiny_measurement


def test_real_slice_matches_sigpy_l1_wavelet_recon():
    """Same maps, db4 wavelet (zero boundary, max level), lambda and step rule:
    the same image at convergence (PSNR within 0.2 dB; in fact ~1e-5 apart)."""
    mri_app = pytest.importorskip("sigpy.mri.app")
    m = real_measurement("loraks_mprage_4ch", "equispaced", crop_rows=64)
    alg = WaveletL1(m.sense(), m.y, lmbda=1e-3, lipschitz="power")  # sigpy's rule
    for _ in range(150):
        alg.step()
    lmbda = float(alg.lmbda_abs[0])  # sigpy takes the absolute lambda
    ref = mri_app.L1WaveletRecon(m.y[0].numpy(), m.smaps[0].numpy(), lmbda,
                                 max_iter=150, show_pbar=False).run()
    ref = torch.from_numpy(np.abs(ref))[None]
    ours = alg.magnitude()
    assert abs(psnr(m.target, ours) - psnr(m.target, ref)) < 0.2
    assert torch.linalg.vector_norm(ours - ref) / torch.linalg.vector_norm(ref) < 1e-3


def test_ista_decreases_the_objective_and_fista_goes_further():
    m = tiny_measurement(image_size=32, n_slices=1)
    ista = WaveletL1(m.sense(), m.y, 1e-2, accelerated=False)
    fista = WaveletL1(m.sense(), m.y, 1e-2, accelerated=True)
    values = []
    for _ in range(20):
        ista.step()
        fista.step()
        values.append(float(ista.objective()))
    assert all(b <= a * (1 + 1e-5) for a, b in zip(values, values[1:]))
    assert float(fista.objective()) < values[-1]


@pytest.mark.parametrize("restart", [False, True])
def test_improves_on_zero_filled(restart):
    m = tiny_measurement(image_size=64, n_slices=2)
    recon = wavelet_l1(m, 1e-3, n_iter=30, restart=restart)
    assert recon.shape == m.target.shape and recon.dtype == torch.float32
    assert psnr(m.target, recon) > psnr(m.target, zero_filled(m)) + 1


def test_lambda_is_relative_to_each_slice():
    m = tiny_measurement(image_size=32, n_slices=2)
    scaled = dataclasses.replace(m, y=m.y * 1000)
    a, b = WaveletL1(m.sense(), m.y, 1e-2), WaveletL1(m.sense(), scaled.y, 1e-2)
    for _ in range(5):
        a.step()
        b.step()
    torch.testing.assert_close(b.x / 1000, a.x, rtol=1e-4, atol=1e-6)


def test_bad_input_is_refused():
    m = tiny_measurement(image_size=32)
    with pytest.raises(ValueError, match="lmbda must be >= 0; got -0.1"):
        WaveletL1(m.sense(), m.y, -0.1)
    y = m.y.clone()
    y[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        WaveletL1(m.sense(), y, 1e-3)


def test_lipschitz_rules():
    m = tiny_measurement(image_size=32)
    power = WaveletL1(m.sense(), m.y, 1e-3, lipschitz="power", power_iter=100)
    bound = WaveletL1(m.sense(), m.y, 1e-3, lipschitz="bound")
    power.step()
    bound.step()
    # The bound is above the power estimate, and tight for RSS-normalised maps.
    assert power.lipschitz <= bound.lipschitz * (1 + 1e-5)
    assert bound.lipschitz == pytest.approx(1.0, abs=1e-5)
    assert power.lipschitz == pytest.approx(bound.lipschitz, rel=0.02)
    with pytest.raises(ValueError, match="lipschitz must be"):
        WaveletL1(m.sense(), m.y, 1e-3, lipschitz="guess")


def test_a_too_long_step_is_caught_as_a_divergence():
    """ista_l1[lipschitz=0.01]: the cost explodes; the iterations say so at
    the step where the data misfit passes 10 times that of x = 0."""
    from benchmark_mri.classical.wavelet_l1 import WaveletL1Split

    m = tiny_measurement(image_size=32, n_slices=2)
    alg = WaveletL1(m.sense(), m.y, 1e-3, lipschitz=0.01)
    for _ in range(20):
        alg.step()
        if alg.diverged:
            break
    assert alg.diverged and 1 < alg.n_iter < 20
    assert "relative data misfit" in alg.diverged
    assert "use lipschitz='bound' or 'power'" in alg.diverged
    logs = []
    split = WaveletL1Split([m], 1e-3, lipschitz=0.01, log=logs.append)
    while split.diverged is None:
        split.step()
    result = split.result()
    assert result["diverged"] == 1 and result["cost"] != result["cost"]
    assert torch.isnan(result["recon"][0]).all()
    assert result["recon"][0].shape == m.target.shape
    assert len(logs) == 1 and "recorded as diverged (diverged=1" in logs[0]


def test_a_converging_run_is_never_flagged():
    from benchmark_mri.classical.wavelet_l1 import WaveletL1Split

    m = tiny_measurement(image_size=32, n_slices=2)
    split = WaveletL1Split([m], 1e-3)
    for _ in range(60):
        split.step()
    result = split.result()
    assert split.diverged is None and result["diverged"] == 0
    assert 0 < result["cost"] < 1
