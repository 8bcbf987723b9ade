"""End-to-end: `benchopt run` on a tiny phantom, checked against the library."""

import numpy as np
import pandas as pd
import pytest
from benchopt.utils.run_context import RunContext

from benchmark_mri.classical import zero_filled
from benchmark_mri.data import measure, phantom_volumes
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling

from .conftest import TINY, benchopt_run

pytestmark = pytest.mark.slow  # every test here starts `benchopt run`


def test_zero_filled_metrics_equal_the_library_on_the_same_arrays(tmp_path):
    output = tmp_path / "run.parquet"
    proc = benchopt_run("-d", f"phantom[{TINY}]", "-s", "zero_filled", output=output)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = pd.read_parquet(output).iloc[-1]

    # Rebuild the same test volumes with the seed benchopt gave the dataset.
    seed = RunContext(base_seed=str(row["base_seed"]), repetition=int(row["idx_rep"]))
    seed = seed.get_seed("Dataset", use_repetition=True)
    volumes = phantom_volumes("test", 2, seed, image_size=32, n_coils=4, n_slices=2)
    sampling = CartesianSampling("random", 4)
    recons = [zero_filled(measure(v, sampling, keep_target=False)) for v in volumes]
    scores = evaluate_volumes([v.target for v in volumes], recons)

    for name in ("psnr", "ssim", "nmse"):
        expected = np.mean(scores[name])
        assert row[f"objective_{name}"] == pytest.approx(expected, rel=1e-6)
    assert row["objective_value"] == row["objective_nmse"]
    assert 5 < row["objective_psnr"] < 40 and 0 < row["objective_ssim"] < 1


def test_bad_dataset_parameter_fails_with_its_name(tmp_path):
    proc = benchopt_run("-d", "phantom[image_size=33]", "-s", "zero_filled",
                        output=tmp_path / "bad.parquet")
    assert proc.returncode != 0
    assert "image_size must be even" in proc.stdout + proc.stderr
