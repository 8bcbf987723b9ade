"""uncertainty_metrics (benchmark_mri/metrics.py) and the std maps a run
saves for the gallery (benchmark_mri/results.py, report/gallery.py)."""

import math

import numpy as np
import pytest

from benchmark_mri.metrics import OBJECT_FRACTION, object_mask, uncertainty_metrics
from benchmark_mri.results import final_results, gallery_slices


def calibrated(seed=0, n=3, shape=(4, 40, 40), scale=1.0):
    """Targets, reconstructions drawn around them with known stds, the stds."""
    rng = np.random.default_rng(seed)
    targets, recons, stds = [], [], []
    for _ in range(n):
        gt = rng.uniform(0.3, 1.0, shape) * scale
        gt[:, :5] = 0.01 * scale  # background, left out
        std = rng.uniform(0.01, 0.05, shape) * scale
        targets.append(gt)
        stds.append(std)
        recons.append(gt + std * rng.standard_normal(shape))
    return targets, recons, stds


def test_a_calibrated_gaussian_covers_95_percent():
    result = uncertainty_metrics(*calibrated())
    assert result["coverage_2sigma"] == pytest.approx(0.9545, abs=0.01)
    assert result["coverage_2sigma_std"] < 0.01
    assert result["mean_posterior_std"] == pytest.approx(0.03, rel=0.05)
    # |error| grows with the std: a positive rank correlation.
    assert 0.3 < result["error_std_correlation"] < 0.7


def test_scale_free_and_overconfidence_lowers_coverage():
    targets, recons, stds = calibrated(scale=1e-4)
    same = uncertainty_metrics(targets, recons, stds)
    assert same["mean_posterior_std"] == pytest.approx(0.03, rel=0.05)
    halved = uncertainty_metrics(targets, recons, [s / 2 for s in stds])
    assert halved["coverage_2sigma"] == pytest.approx(0.683, abs=0.015)


def test_object_mask_is_above_a_tenth_of_the_maximum():
    gt = np.array([[[0.05, 0.1, 0.11, 1.0]]])
    assert OBJECT_FRACTION == 0.1
    assert object_mask(gt).tolist() == [[[False, False, True, True]]]


def test_non_finite_std_gives_nan_and_other_volumes_are_unaffected():
    targets, recons, stds = calibrated(n=2)
    stds[1] = stds[1].copy()
    stds[1][0, 10, 10] = np.nan
    result = uncertainty_metrics(targets, recons, stds)
    assert all(math.isnan(result[k]) for k in ("coverage_2sigma",
                                               "mean_posterior_std",
                                               "error_std_correlation"))
    alone = uncertainty_metrics(targets[:1], recons[:1], stds[:1])
    assert math.isfinite(alone["coverage_2sigma"])


def test_a_constant_std_has_no_correlation():
    targets, recons, stds = calibrated(n=1)
    result = uncertainty_metrics(targets, recons, [np.full_like(stds[0], 0.03)])
    assert math.isnan(result["error_std_correlation"])
    assert math.isfinite(result["coverage_2sigma"])


def test_larger_reconstructions_are_cropped_and_bad_lengths_refused():
    targets, recons, stds = calibrated(n=1)
    pad = ((0, 0), (2, 2), (3, 3))
    padded = uncertainty_metrics(targets, [np.pad(recons[0], pad)],
                                 [np.pad(stds[0], pad)])
    assert padded == uncertainty_metrics(targets, recons, stds)
    with pytest.raises(ValueError, match="Got 1 reconstructions and 2 standard"):
        uncertainty_metrics(targets, recons, stds * 2)


def test_no_volume_gives_nan():
    result = uncertainty_metrics([], [], [])
    assert set(result) == {f"{k}{s}" for k in ("coverage_2sigma", "mean_posterior_std",
                                               "error_std_correlation")
                           for s in ("", "_std")}
    assert all(math.isnan(v) for v in result.values())


def test_gallery_slices_keep_the_std_beside_the_recon(tmp_path):
    targets, recons, stds = calibrated(n=3, scale=7.0)
    slices = gallery_slices(["a", "b", "c"], targets, recons, stds=stds)
    assert len(slices) == 2 and slices[0]["std"].dtype == np.float16
    np.testing.assert_allclose(slices[0]["std"] * slices[0]["data_range"],
                               stds[0][2], rtol=2e-3)
    assert "std" not in gallery_slices(["a"], targets, recons)[0]
    saved = final_results(["a", "b", "c"], targets, recons, tmp_path, std=stds)
    assert all("std" in s for s in saved["slices"])
