"""Fixtures of the report tests: result files in benchopt's format."""

import pytest

from ..conftest import benchopt_run
from .frames import callback_frame, write

TINY = ("image_size=32,n_coils=4,n_train_volumes=1,n_test_volumes=2,n_slices=2,"
        "acceleration=[4,8]")
LEARNED_TINY = "image_size=32,n_coils=4,n_train_volumes=1,n_test_volumes=1,n_slices=2"
# The three learned solvers at their default model parameters (XPDNet's
# n_iter=None: its preset's count; the DEQ's forward_max_iter), one epoch,
# small widths, each swept over test-time iterations (None: as trained).
LEARNED = ("xpdnet[n_epochs=1,test_iterations=[None,1]]",
           "rim[n_epochs=1,hidden_channels=4,test_iterations=[None,2]]",
           "deq_shine[n_epochs=1,channels=4,test_iterations=[None,5]]")


@pytest.fixture(scope="session")
def callback_file(tmp_path_factory):
    """Several solvers and settings, callback curves, a failed solver, NaN."""
    return write(callback_frame(), tmp_path_factory.mktemp("runs") / "callback.parquet")


@pytest.fixture(scope="session")
def real_run(tmp_path_factory):
    """A small real `benchopt run`: zero_filled on the phantom, two settings."""
    result = tmp_path_factory.mktemp("real") / "run.parquet"
    # ACS maps: ESPIRiT needs >= 3 ACS columns, 32 columns at 8x have one.
    proc = benchopt_run("-o", "MRI reconstruction[smaps=acs]", "-d", f"phantom[{TINY}]",
                        "-s", "zero_filled", output=result)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return result


@pytest.fixture(scope="session")
def learned_run(tmp_path_factory):
    """A small real `benchopt run` of LEARNED on the phantom (one setting).

    Each solver trains once: the second value of its sweep reuses the
    checkpoint (test_iterations is not in the checkpoint key), cached in a
    temporary folder.
    """
    folder = tmp_path_factory.mktemp("learned")
    solvers = [arg for solver in LEARNED for arg in ("-s", solver)]
    proc = benchopt_run("-o", "MRI reconstruction[smaps=acs]",
                        "-d", f"phantom[{LEARNED_TINY}]", *solvers,
                        output=folder / "run.parquet",
                        env={"BENCHMARK_MRI_CHECKPOINTS": str(folder / "checkpoints")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder / "run.parquet"


@pytest.fixture(scope="session")
def shift_run(tmp_path_factory):
    """The issue's first run, tiny: XPDNet trained at 4x and at 8x, tested at
    8x, beside zero_filled (64 columns: 3 ACS lines at 8x)."""
    folder = tmp_path_factory.mktemp("shift")
    proc = benchopt_run(
        "-o", "MRI reconstruction[smaps=acs]",
        "-d", "phantom[image_size=64,n_coils=4,n_train_volumes=1,n_test_volumes=1,"
              "n_slices=2,acceleration=8]",
        "-s", "xpdnet[n_epochs=1,n_iter=1,train_acceleration=[4,8]]",
        "-s", "zero_filled", output=folder / "run.parquet",
        env={"BENCHMARK_MRI_CHECKPOINTS": str(folder / "checkpoints")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder / "run.parquet"
