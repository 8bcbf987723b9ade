"""benchmarks/gpu_check.py, the CUDA path's check, runs (on the CPU, tiny)."""

import importlib.util

from .conftest import REPO


def test_gpu_check_runs_tiny_on_the_cpu(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "gpu_check", REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--tiny", "--device", "cpu", "--steps", "1", "--slices", "2",
                        "--json", str(tmp_path / "gpu.json")])
    what = [r["what"] for r in rows]
    assert what[:2] == ["xpdnet (cpu_small) training step",
                        "varnet (cpu_small) training step"]
    assert what[2].startswith("DataLoader") and "ESPIRiT, one slice" in what
    assert what[-2].startswith("NUFFT forward + adjoint")
    assert what[-1] == "ista_l1 FISTA step (2 slices)"
    assert all(r.get("slices_per_s", 1) > 0 and r.get("seconds", 1) > 0 for r in rows)
    assert "| xpdnet (cpu_small) training step | cpu |" in capsys.readouterr().out
    assert (tmp_path / "gpu.json").is_file()
