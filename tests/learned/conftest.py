"""Tiny problems and a tiny model for the learned-solver tests (CPU, seconds)."""

from dataclasses import dataclass

import pytest
import torch

from benchmark_mri.data import measure, phantom_split
from benchmark_mri.learned import Inference, LearnedRun, Training, TrainSettings
from benchmark_mri.physics import CartesianSampling

TINY = dict(image_size=32, n_coils=4, n_slices=2)


def tiny_split(n_train=2, n_test=1, seed=0, **kwargs):
    """(train, test) lists of Measurement on 32x32 4-coil phantoms."""
    sampling = CartesianSampling("random", 4)
    train, test, _ = phantom_split(n_train, n_test, seed, sampling,
                                   **{**TINY, **kwargs})
    return train, test


@pytest.fixture(scope="module")
def split():
    return tiny_split()


@dataclass(frozen=True)
class TinyConfig:
    n_iter: int = 2


class TinyUnrolled(torch.nn.Module):
    """A minimal model with the shared interface: n_iter gradient steps on the
    data term, each followed by a small residual CNN (weights shared)."""

    def __init__(self, n_iter: int = 2):
        super().__init__()
        self.n_iter = n_iter
        self.step = torch.nn.Parameter(torch.tensor(0.5))
        self.cnn = torch.nn.Sequential(
            torch.nn.Conv2d(2, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 2, 3, padding=1),
        )

    @classmethod
    def from_config(cls, config: TinyConfig):
        return cls(config.n_iter)

    def forward(self, y, physics, n_iter=None):
        x = physics.adjoint(y)
        for _ in range(self.n_iter if n_iter is None else n_iter):
            x = x - self.step * physics.adjoint(physics(x) - y)
            r = self.cnn(torch.view_as_real(x).permute(0, 3, 1, 2))  # (B, 2, H, W)
            x = x + torch.view_as_complex(r.permute(0, 2, 3, 1).contiguous())
        return x


@pytest.fixture(scope="session")
def fastmri_models():
    """fastMRI's own models, the oracle of VarNet and the U-Net (installed with
    `pip install --no-deps fastmri==0.3.0 requests runstats pyyaml`, as
    .ci/run does). Missing: skipped, or failed where
    BENCHMARK_MRI_REQUIRE_FASTMRI=1 (CI)."""
    import os

    try:
        import fastmri
        import fastmri.models
    except ImportError as err:
        message = ("fastMRI's package is not installed (pip install --no-deps "
                   f"fastmri==0.3.0 requests runstats pyyaml): {err}")
        if os.environ.get("BENCHMARK_MRI_REQUIRE_FASTMRI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return fastmri


def fastmri_volume(tmp_path, seed=0, n_slices=2):
    """A generated fastMRI-layout knee file (readout oversampling, padding
    columns), read and undersampled by the benchmark: (volume, measurement)."""
    from benchmark_mri.data.fake_fastmri import write_volume
    from benchmark_mri.data.fastmri import inspect_file, read_volume

    path = write_volume(tmp_path / f"file{seed:04d}.h5", seed, n_slices=n_slices)
    volume = read_volume(inspect_file(path, "multicoil"))
    return volume, measure(volume, CartesianSampling("random", 4), keep_target=False)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


SETTINGS = TrainSettings(n_epochs=2, lr=1e-2, batch_size=2, seed=0)


def run_once(split, folder, logs=None, settings=SETTINGS, test_iterations=None):
    """Train TinyUnrolled on `split` with its checkpoints in `folder` (or
    reuse them) and reconstruct the test split at every benchopt point:
    (LearnedRun, [result() per point]); the run's log lines go to `logs`."""
    train, test = split
    training = Training("tiny", TinyConfig(), train, settings,
                        build=TinyUnrolled.from_config, device="cpu",
                        cache_dir=folder,
                        log=(logs if logs is not None else []).append)
    run = LearnedRun(training, test, Inference(test_iterations))
    calls = []

    def callback():
        calls.append(run.result())
        return True

    run.run(callback)
    return run, calls
