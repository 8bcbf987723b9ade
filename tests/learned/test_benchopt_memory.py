"""Memory-efficient training through `benchopt run`: XPDNet's training modes and
the layer-wise solver on a tiny phantom, their measurements, the RIM's skip."""

import pandas as pd
import pytest

from ..conftest import benchopt_run

pytestmark = pytest.mark.slow  # every test here starts `benchopt run`

TINY = "image_size=32,n_coils=4,n_train_volumes=1,n_test_volumes=1,n_slices=2"


def test_training_modes_and_layerwise_run_and_report_memory(tmp_path):
    output = tmp_path / "memory.parquet"
    proc = benchopt_run(
        "-d", f"phantom[{TINY}]",
        "-s", "xpdnet[n_epochs=1,batch_size=2,training=[end_to_end,checkpoint,greedy]]",
        "-s", "layerwise[n_blocks=2,width=8,epochs_per_block=1,batch_size=2]",
        output=output, env={"BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    finals = pd.read_parquet(output).groupby("solver_name").tail(1)
    assert len(finals) == 4
    assert (finals["objective_train_time_per_epoch_s"] > 0).all()
    by_training = {name.split("training=")[-1].rstrip("]"): mb for name, mb in zip(
        finals["solver_name"], finals["objective_saved_tensors_mb"])
        if name.startswith("xpdnet")}
    assert by_training["checkpoint"] < by_training["greedy"] < by_training["end_to_end"]
    layerwise = finals[finals["solver_name"].str.startswith("layerwise")]
    assert int(layerwise["objective_train_epochs"].iloc[0]) == 2  # 2 blocks x 1


def test_rim_greedy_is_skipped_with_the_reason(tmp_path):
    proc = benchopt_run("-d", f"phantom[{TINY}]",
                        "-s", "rim[n_epochs=1,hidden_channels=4,training=greedy]",
                        output=tmp_path / "rim.parquet", raise_on_error=False,
                        env={"BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    log = proc.stdout + proc.stderr
    assert "rim: training='greedy' needs modules with their own weights" in log
