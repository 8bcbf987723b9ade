"""The objective's contract, driven through benchopt's Benchmark API."""

import shutil
import sys

import joblib
import pytest
import torch
from benchopt.benchmark import Benchmark
from benchopt.utils.run_context import RunContext

from benchmark_mri.version import UTILS_FOLDER, code_version

from .conftest import REPO


def phantom_objective():
    """The objective set up on a tiny phantom, as benchopt does it."""
    bench = Benchmark(REPO)
    dataset = next(d for d in bench.get_datasets() if d.name == "phantom")
    dataset = dataset.get_instance(image_size=32, n_coils=2, n_train_volumes=1,
                                   n_test_volumes=2, n_slices=2)
    dataset._run_context = RunContext(base_seed="0", repetition=0)
    objective = bench.get_benchmark_objective().get_instance()
    objective.set_data(**dataset.get_data())
    return objective


@pytest.fixture(scope="module")
def objective():
    return phantom_objective()


def test_set_data_computes_no_coil_maps():
    """Maps are computed when a solver first reads them, never "in case"."""
    objective = phantom_objective()  # a fresh one: no solver has read its maps
    test = objective.get_objective()["test"]
    assert not any(test[i].maps_ready for i in range(len(test)))
    assert test[0].smaps.shape == test[0].y.shape and test[0].maps_ready


def test_the_result_records_the_threads_of_the_run(objective):
    result = objective.evaluate_result(recon=[0.5 * t for t in objective.targets])
    assert result["n_threads"] == torch.get_num_threads() >= 1


def test_every_row_says_under_what_it_was_tested_and_trained(objective):
    """Test source and sampling on every row; the training's beside them when
    the solver trained (learned/lifecycle.py reports train_acceleration and
    train_mask_type), so the report pairs shifted and in-distribution runs."""
    recon = [0.5 * t for t in objective.targets]
    classical = objective.evaluate_result(recon=recon)
    assert (classical["test_source"], classical["test_acceleration"],
            classical["test_mask_type"]) == ("phantom", 4.0, "random")
    assert classical["train_source"] is None and classical["train_mask_type"] is None
    assert classical["train_acceleration"] != classical["train_acceleration"]  # NaN
    learned = objective.evaluate_result(recon=recon, train_acceleration=8.0,
                                        train_mask_type="equispaced")
    assert (learned["train_source"], learned["train_acceleration"],
            learned["train_mask_type"]) == ("phantom", 8.0, "equispaced")
    records = objective.save_final_results(recon=recon, train_acceleration=8.0,
                                           train_mask_type="equispaced")
    assert "solver" not in records["provenance"]  # not a text record


def test_solvers_never_see_test_targets(objective):
    problem = objective.get_objective()
    assert set(problem) == {"test", "train"}
    assert all(m.target is None for m in problem["test"])
    assert all(m.target is not None for m in problem["train"])
    assert all(m.smaps.shape == m.y.shape for m in problem["test"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # PSNR of identical images
def test_evaluate_result_reports_metrics_and_solver_measurements(objective):
    recon = [t.clone() for t in objective.targets]
    result = objective.evaluate_result(recon=recon, inference_time_s=0.5)
    assert result["nmse"] == 0 and result["ssim"] == pytest.approx(1.0)
    assert result["value"] == result["nmse"]
    assert result["inference_time_s"] == 0.5
    assert {"psnr_std", "ssim_std", "nmse_std"} <= set(result)


def test_evaluate_result_flags_nan(objective):
    recon = [torch.full_like(t, float("nan")) for t in objective.targets]
    result = objective.evaluate_result(recon=recon)
    assert result["value"] != result["value"]  # NaN: benchopt marks it diverged


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # PSNR of identical images
@pytest.mark.parametrize("flag", ["training_diverged", "diverged"])
def test_a_diverged_point_is_never_scored(objective, flag):
    """Divergence is a result, never a score: whatever images a solver
    returns with its diverged flag, the metrics and saved images are NaN."""
    recon = [t.clone() for t in objective.targets]  # perfect images
    result = objective.evaluate_result(recon=recon, **{flag: 1})
    for name in ("psnr", "ssim", "nmse", "value"):
        assert result[name] != result[name], name
    assert result[flag] == 1 and result["n_scored"] == 2
    saved = objective.save_final_results(recon=recon, **{flag: 1})
    assert all(torch.isnan(torch.as_tensor(s["recon"].astype("float32"))).all()
               for s in saved["slices"])
    assert objective.evaluate_result(recon=recon, **{flag: 0})["nmse"] == 0


def test_benchopts_cache_key_changes_with_the_code_it_cannot_see(objective,
                                                                  monkeypatch):
    """benchopt hashes the objective through its state (__reduce__): a new
    code fingerprint must give a new cache key."""
    state = objective._get_state()
    # The fingerprint covers benchmark_utils/ as well as benchmark_mri/.
    assert state["code_version"] == code_version(REPO) != code_version()
    before = joblib.hash(objective)
    module = sys.modules[type(objective).__module__]
    monkeypatch.setattr(module, "code_version", lambda *_: "edited")
    assert joblib.hash(objective) != before


def test_an_edit_of_benchmark_utils_changes_the_fingerprint(tmp_path):
    utils = tmp_path / UTILS_FOLDER
    shutil.copytree(REPO / UTILS_FOLDER, utils)
    before = code_version(tmp_path)
    (utils / "learned_solver.py").write_text(
        (utils / "learned_solver.py").read_text() + "# edited\n")
    code_version.cache_clear()
    edited = code_version(tmp_path)
    assert edited != before
    (utils / "new_helper.py").write_text("x = 1\n")  # a new file counts too
    code_version.cache_clear()
    assert code_version(tmp_path) != edited


def test_every_row_records_its_sampled_fraction_and_whose_mask(objective):
    """The dataset's masks by default; after a solver's proposal, its mask
    (data/acquisition.py), until the next solver gets the objective."""
    import numpy as np

    from benchmark_mri.data.acquisition import ProposedMask

    test = objective.get_objective()["test"]
    recon = [0.5 * t for t in objective.targets]
    result = objective.evaluate_result(recon=recon)
    fraction = float(np.mean([test[i].mask.float().mean(-1).mean()
                              for i in range(len(test))]))
    assert result["sampled_fraction"] == pytest.approx(fraction)
    assert result["solver_mask"] == 0
    assert objective.save_final_results(recon=recon)["mask"] == "random"
    width = test[0].y.shape[-1]
    start, stop = test.budget.acs_columns(width)
    columns = np.zeros(width, dtype=bool)
    columns[start:stop] = True
    remeasured = test.remeasure(ProposedMask(columns, kind="centre only"))
    assert torch.equal(remeasured[0].mask[0, 0, 0], torch.from_numpy(columns))
    result = objective.evaluate_result(recon=recon)
    assert result["solver_mask"] == 1
    assert result["sampled_fraction"] == pytest.approx((stop - start) / width)
    saved = objective.save_final_results(recon=recon)
    assert saved["mask"] == "centre only"
    assert (saved["slices"][0]["mask"] == columns).all()
    objective.get_objective()  # the next solver: the dataset's masks again
    assert objective.evaluate_result(recon=recon)["solver_mask"] == 0
