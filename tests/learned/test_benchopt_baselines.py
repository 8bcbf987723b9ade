"""VarNet and the U-Net through `benchopt run` with fastMRI's published model
sizes and a state dict saved from fastMRI's own models: the scores equal
those of fastMRI's models on the same slices, on the phantom and on a
generated fastMRI-layout knee tree; the weights' digest is in the result
file and on the dashboard."""

import numpy as np
import pytest
import torch
from benchopt.results import read_results
from benchopt.utils.run_context import RunContext

from benchmark_mri.data import center_crop, measure, phantom_volumes
from benchmark_mri.data.fake_fastmri import make_tree
from benchmark_mri.data.fastmri_splits import anatomy_split
from benchmark_mri.learned.pretrained import file_sha256
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling
from benchmark_mri.report.html import build_report
from benchmark_mri.results import read_final_results

from ..conftest import benchopt_run
from .test_unet import fastmri_baseline
from .test_varnet import fastmri_output

pytestmark = pytest.mark.slow
PHANTOM = "image_size=32,n_coils=4,n_train_volumes=0,n_test_volumes=1,n_slices=2"
KNEE = "n_train_volumes=0,n_test_volumes=1,n_slices=2"


def test_fastmri_paper_weights_score_as_fastmris_models(fastmri_models, tmp_path,
                                                       monkeypatch):
    models = fastmri_models.models
    torch.manual_seed(0)
    varnet = models.VarNet(num_cascades=12, chans=18, pools=4, sens_chans=8,
                           sens_pools=4).eval()
    unet = models.Unet(1, 1, chans=256, num_pool_layers=4, drop_prob=0.0).eval()
    weights = {"varnet": tmp_path / "varnet.pt", "unet": tmp_path / "unet.pt"}
    torch.save(varnet.state_dict(), weights["varnet"])
    torch.save(unet.state_dict(), weights["unet"])
    root = make_tree(tmp_path / "fastmri")
    output = tmp_path / "run.parquet"
    proc = benchopt_run(
        "-o", "MRI reconstruction[smaps=acs]", "-d", f"phantom[{PHANTOM}]",
        "-d", f"fastmri_knee[{KNEE}]",
        "-s", f"varnet[preset=paper,pretrained='{weights['varnet']}',n_epochs=0]",
        "-s", f"unet[preset=paper,pretrained='{weights['unet']}',n_epochs=0]",
        output=output, env={"FASTMRI_ROOT": root,
                            "BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert log.count("evaluating the pretrained weights") == 4
    frame = read_results(output)  # final_results cells decoded
    assert len(frame) == 4  # one point each: no training

    row = frame.iloc[0]
    seed = RunContext(base_seed=str(row["base_seed"]), repetition=int(row["idx_rep"]))
    phantom = phantom_volumes("test", 1, seed.get_seed("Dataset", use_repetition=True),
                              image_size=32, n_coils=4, n_slices=2)
    monkeypatch.setenv("FASTMRI_ROOT", str(root))  # the volumes the dataset read
    knee = [ref.read() for ref in anatomy_split(
        None, "knee", n_train_volumes=0, n_test_volumes=1, n_slices=2)["test"]]
    sampling = CartesianSampling("random", 4)
    for dataset, volumes in (("phantom", phantom), ("fastmri_knee", knee)):
        tests = [measure(v, sampling, keep_target=False) for v in volumes]
        targets = [v.target for v in volumes]
        expected = {
            "varnet": [center_crop(fastmri_output(varnet, m), m.target_size)
                       for m in tests],
            "unet": [fastmri_baseline(fastmri_models, unet, m) for m in tests],
        }
        for solver, recons in expected.items():
            scores = evaluate_volumes(targets, recons)
            rows = frame[frame["dataset_name"].str.startswith(dataset)
                         & frame["solver_name"].str.startswith(solver)]
            (got,) = rows.itertuples()
            for name in ("psnr", "ssim", "nmse"):
                assert getattr(got, f"objective_{name}") == pytest.approx(
                    float(np.mean(scores[name])), rel=1e-5), (dataset, solver, name)
            provenance = read_final_results(got.final_results)[1]
            assert provenance["solver"] == {
                "pretrained_sha256": file_sha256(weights[solver])}
    page = build_report(output, tmp_path / "dash").read_text()
    for path in weights.values():
        assert f"pretrained_sha256 {file_sha256(path)}" in page
