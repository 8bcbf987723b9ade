"""fastMRI's protocol as configs (configs/fastmri_{knee,brain}.yml): each runs
end to end with its sizes overridden down to a generated tree, and says what
the docs page says it does."""

import pandas as pd
import pytest
import yaml

from benchmark_mri.data.fake_fastmri import write_volume
from benchmark_mri.learned import model_config

from .conftest import REPO, benchopt_run

CONFIGS = {"knee": REPO / "configs" / "fastmri_knee.yml",
           "brain": REPO / "configs" / "fastmri_brain.yml"}
# What shrinks a protocol run to seconds on a CPU: the data, the training
# budget, the models' size, the device. Everything else stays the config's.
DATA = {"n_train_volumes": "1", "n_test_volumes": "1", "n_slices": "1"}
LEARNED = {"preset": "cpu_small", "n_epochs": "1", "device": "cpu"}
TIMEOUT = "60"


def parse(pattern: str) -> tuple[str, dict]:
    """'name[a=1,b=[4,8]]' -> ('name', {'a': '1', 'b': '[4,8]'})."""
    name, _, inside = pattern.partition("[")
    items, depth, item = [], 0, ""
    for char in inside[:-1] + ",":  # commas inside brackets separate values
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += char
    return name, dict(i.split("=", 1) for i in items if i)


def unparse(name: str, params: dict) -> str:
    return name + ("[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]"
                   if params else "")


def test_parse_reads_benchopt_patterns():
    assert parse("a[x=None,y=[4,8],z=l1]") == ("a", {"x": "None", "y": "[4,8]",
                                                    "z": "l1"})
    assert parse("zero_filled") == ("zero_filled", {})


@pytest.mark.parametrize("anatomy", CONFIGS)
def test_the_config_is_fastmris_protocol(anatomy):
    config = yaml.safe_load(CONFIGS[anatomy].read_text())
    (dataset,) = config["dataset"]
    name, params = parse(dataset)
    assert name == f"fastmri_{anatomy}"
    assert params["acceleration"] == "[4,8]"  # centre fractions: 0.08, 0.04
    assert params["mask_type"] == {"knee": "random", "brain": "equispaced"}[anatomy]
    assert all(params[k] == "None" for k in DATA)  # whole splits
    learned = {}
    for pattern in config["solver"]:
        name, params = parse(pattern)
        if "n_epochs" in params:
            learned[name] = params
            assert params["device"] == "cuda"
            model_config(name, params["preset"])  # a preset that exists
    assert set(learned) == {"varnet", "unet", "xpdnet", "rim"}
    assert learned["varnet"]["preset"] == "paper"
    assert (learned["varnet"]["n_epochs"], learned["varnet"]["loss"]) == ("50", "ssim")
    assert model_config("varnet", "paper").n_cascades == 12
    assert model_config("unet", "paper").channels == 256
    assert model_config("xpdnet", "leaderboard").n_iter == 25


def shrunk(config_file, folder):
    """The config with DATA, LEARNED and TIMEOUT applied, written to folder."""
    config = yaml.safe_load(config_file.read_text())
    datasets = []
    for pattern in config["dataset"]:
        name, params = parse(pattern)
        datasets.append(unparse(name, {**params, **DATA}))
    solvers = []
    for pattern in config["solver"]:
        name, params = parse(pattern)
        solvers.append(unparse(name, {**params, **LEARNED} if "n_epochs" in params
                               else params))
    config.update(dataset=datasets, solver=solvers, timeout=TIMEOUT)
    path = folder / config_file.name
    path.write_text(yaml.safe_dump(config))
    return path, solvers


def protocol_tree(root, anatomy):
    """One training and one validation volume of 128 x 128 k-space: wide
    enough for GRAPPA's 5 x 5 kernel at 8x (5 ACS columns)."""
    recon = (64, 64) if anatomy == "knee" else (128, 128)
    for split, seed in (("train", 0), ("val", 1)):
        write_volume(root / anatomy / f"multicoil_{split}" / f"file{seed}.h5", seed,
                     n_slices=1, size=(128, 128), recon=recon, padding=(2, 126))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("anatomy", CONFIGS)
def test_the_protocol_runs_on_a_generated_tree(anatomy, tmp_path):
    root = protocol_tree(tmp_path / "fastmri", anatomy)
    config, solvers = shrunk(CONFIGS[anatomy], tmp_path)
    output = tmp_path / "protocol.parquet"
    proc = benchopt_run("--config", config, output=output,
                        env={"FASTMRI_ROOT": root,
                             "BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = pd.read_parquet(output)
    finals = rows.groupby(["dataset_name", "solver_name"]).tail(1)
    ran = {(str(a), s.split("[")[0]) for a, s in
           zip(finals["p_dataset_acceleration"], finals["solver_name"])}
    assert ran == {(a, parse(s)[0]) for a in "48" for s in solvers}
    assert (finals["objective_psnr"] > 0).all()
