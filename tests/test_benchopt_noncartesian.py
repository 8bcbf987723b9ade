"""`benchopt run` on the phantom sampled along radial and spiral trajectories."""

import pandas as pd
import pytest

from benchmark_mri.cli import main

from .conftest import SHARED_DATA, TINY, benchopt_run

pytestmark = pytest.mark.slow  # every test here starts `benchopt run`

RAW = SHARED_DATA / "noncartesian"


def test_classical_solvers_on_radial_and_spiral_phantoms(tmp_path):
    output = tmp_path / "run.parquet"
    proc = benchopt_run(
        "-d", f"phantom[{TINY},trajectory=[radial,spiral]]", "-s", "zero_filled",
        "-s", "ista_l1", "-s", "grappa", "--max-runs", "6", output=output,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    # GRAPPA skips non-Cartesian data, saying why.
    assert "GRAPPA needs Cartesian k-space" in log
    results = pd.read_parquet(output)
    results["solver"] = results["solver_name"].str.split("[").str[0]
    assert set(results["solver"]) == {"zero_filled", "ista_l1"}
    assert results["objective_psnr"].between(10, 60).all()
    final = results.sort_values("stop_val").groupby(
        ["dataset_name", "solver"])["objective_psnr"].last().unstack()
    # Wavelet-l1 on the density-weighted NUFFT beats the compensated adjoint.
    assert (final["ista_l1"] > final["zero_filled"]).all(), final


@pytest.mark.skipif(not RAW.is_dir(),
                    reason=f"the shared raw non-Cartesian data is absent ({RAW})")
def test_raw_scans_scored_against_a_reference_or_shown_without_one(tmp_path):
    output = tmp_path / "raw.parquet"
    proc = benchopt_run(
        "-d", "raw_noncartesian[n_coils=2]", "-s", "zero_filled", "-s", "ista_l1",
        "-s", "xpdnet", "--max-runs", "8", output=output,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "xpdnet is a learned solver: the dataset has no training split" in log
    results = pd.read_parquet(output)
    results["scan"] = results["dataset_name"].str.extract(r"scan=(\w+)")[0]
    results["solver"] = results["solver_name"].str.split("[").str[0]
    final = results.sort_values("stop_val").groupby(["scan", "solver"]).last()
    spiral, heart = "spiral_phantom_8ch_60il", "radial_cardiac_12ch_25spokes"
    # The spiral (every 2nd interleaf) is scored against CG-SENSE of all 60.
    assert (final.loc[spiral, "objective_n_scored"] == 1).all()
    assert final.loc[(spiral, "ista_l1"), "objective_psnr"] > final.loc[
        (spiral, "zero_filled"), "objective_psnr"]
    # The heart has no reference: not scored, NaN metrics, never a fake value.
    assert (final.loc[heart, "objective_n_scored"] == 0).all()
    assert final.loc[heart, ["objective_psnr", "objective_value"]].isna().all().all()
    # ISTA stops on its own cost, which decreases.
    ista = results[results["solver"] == "ista_l1"].sort_values("stop_val")
    assert ista.groupby("scan")["objective_cost"].apply(
        lambda c: c.is_monotonic_decreasing).all()
    # The report shows the heart's reconstructions without a reference.
    assert main(["report", str(output), "-o", str(tmp_path / "dash")]) == 0
    page = (tmp_path / "dash" / "index.html").read_text()
    assert "no reference" in page
