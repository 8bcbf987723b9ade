"""What a run saves (benchmark_mri/results.py) survives benchopt's result file."""

import numpy as np
import pytest
from benchopt.results.parquet import pack, unpack

from benchmark_mri.metrics import psnr, ssim
from benchmark_mri.results import (
    FORMAT,
    final_results,
    gallery_slices,
    read_final_results,
)

from .conftest import REPO


def _volumes(rng, n=5, size=(3, 16, 12)):
    targets = [rng.random(size).astype(np.float32) * 7 for _ in range(n)]
    # Reconstructions larger than the targets: they are centre-cropped.
    recons = [np.pad(t + 0.1 * rng.standard_normal(size).astype(np.float32),
                     ((0, 0), (2, 2), (1, 1))) for t in targets]
    return targets, recons


def test_central_slices_of_the_first_volumes_with_their_scores():
    rng = np.random.default_rng(0)
    targets, recons = _volumes(rng)
    slices = gallery_slices([f"v{i}" for i in range(5)], targets, recons)
    assert [s["volume"] for s in slices] == ["v0", "v1"]  # MAX_VOLUMES
    first = slices[0]
    assert first["slice"] == 1 and first["target"].dtype == np.float16
    assert first["recon"].shape == (16, 12)
    data_range = targets[0].max()
    assert first["data_range"] == pytest.approx(data_range)
    gt, pred = targets[0][1:2], recons[0][1:2, 2:-2, 1:-1]
    assert first["psnr"] == pytest.approx(psnr(gt, pred, data_range))
    assert first["ssim"] == pytest.approx(ssim(gt, pred, data_range))
    np.testing.assert_allclose(first["recon"] * data_range, pred[0], atol=7e-3)


def test_nan_reconstruction_scores_nan():
    target = np.ones((1, 8, 8), np.float32)
    slices = gallery_slices(["v"], [target], [np.full_like(target, np.nan)])
    assert np.isnan(slices[0]["psnr"]) and np.isnan(slices[0]["ssim"])


def test_round_trip_through_benchopt_packing():
    """benchopt pickles final_results and unpickles it with an allowlist."""
    rng = np.random.default_rng(1)
    targets, recons = _volumes(rng, n=2)
    saved = final_results(["a", "b"], targets, recons, REPO)
    back = unpack(pack(saved))
    slices, provenance, problem = read_final_results(back)
    assert problem is None and back["format"] == FORMAT
    np.testing.assert_array_equal(slices[1]["recon"], saved["slices"][1]["recon"])
    assert provenance["versions"]["benchopt"]
    assert "command" in provenance and "git_commit" in provenance


@pytest.mark.parametrize("cell, message", [
    (None, "no reconstructions were saved"),
    ("something", "not in the format"),
    ({"format": "other/2"}, "found 'other/2'"),
])
def test_unreadable_cells_say_why(cell, message):
    slices, provenance, problem = read_final_results(cell)
    assert slices == [] and message in problem


def test_results_imports_neither_benchopt_nor_plotly_nor_the_report():
    """The objective imports it on every run; the report imports it too."""
    import subprocess
    import sys

    code = ("import sys, benchmark_mri.results; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'benchopt' "
            "or m.split('.')[0] == 'plotly' or m.startswith('benchmark_mri.report')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
