import numpy as np
import pytest
import torch

from benchmark_mri.data import measure, phantom_volumes, simulate_volume
from benchmark_mri.data.phantom import (
    birdcage_smaps,
    check_phantom_memory,
    phantom_memory_bytes,
)
from benchmark_mri.physics import CartesianSampling, ifft2c, rss


def _volume(**kwargs):
    params = dict(image_size=32, n_coils=4, n_slices=3, noise=0.01)
    params.update(kwargs)
    return simulate_volume("v", np.random.default_rng(0), **params)


def test_shapes_and_dtypes():
    v = _volume()
    assert v.kspace.shape == (3, 4, 32, 32) and v.kspace.dtype == torch.complex64
    assert v.target.shape == (3, 32, 32) and v.target.dtype == torch.float32
    # The target is the RSS of the fully sampled (noisy) coil images.
    assert torch.allclose(v.target, rss(ifft2c(v.kspace)), atol=1e-6)
    assert torch.isfinite(v.target).all() and v.target.max() > 0.1


def test_single_coil():
    v = _volume(n_coils=1)
    assert v.kspace.shape == (3, 1, 32, 32)


def test_deterministic_and_distinct():
    a = phantom_volumes("train", 2, seed=0, image_size=32, n_coils=2, n_slices=2)
    b = phantom_volumes("train", 2, seed=0, image_size=32, n_coils=2, n_slices=2)
    test = phantom_volumes("test", 1, seed=0, image_size=32, n_coils=2, n_slices=2)
    assert torch.equal(a[0].kspace, b[0].kspace)
    assert [v.name for v in a] == ["phantom_train_000", "phantom_train_001"]
    assert not torch.allclose(a[0].target, a[1].target)
    assert not torch.allclose(a[0].target, test[0].target)
    # Slices of one volume differ (a 3D object cut at several depths).
    assert not torch.allclose(a[0].target[0], a[0].target[1])


def test_not_produced_by_the_reconstruction_operator():
    """No inverse crime: the noiseless k-space is not the FFT of an image that
    is piecewise constant on the reconstruction grid (it rings at edges)."""
    v = _volume(noise=0.0, n_coils=1)
    image = ifft2c(v.kspace)[:, 0].abs()
    values = torch.unique(torch.round(image * 1e4))
    assert values.numel() > 200


def test_noise_level():
    clean, noisy = _volume(noise=0.0), _volume(noise=0.05)
    diff = (noisy.kspace - clean.kspace).flatten()
    expected = 0.05 * float(clean.target.max())
    assert float(diff.abs().pow(2).mean().sqrt()) == pytest.approx(expected, rel=0.1)


def test_birdcage_maps_are_smooth_and_normalised():
    maps = birdcage_smaps(8, 64)
    assert maps.shape == (8, 64, 64) and maps.dtype == np.complex64
    assert np.sqrt((np.abs(maps) ** 2).sum(0)).max() == pytest.approx(1.0, rel=1e-5)
    assert np.abs(np.diff(np.abs(maps), axis=-1)).max() < 0.1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image_size=33), "image_size must be even"),
        (dict(image_size=8), r"image_size must be an integer in \[16, 1024\]"),
        (dict(n_coils=64), r"n_coils must be an integer in \[1, 32\]"),
        (dict(n_slices=0), "n_slices must be a positive integer"),
        (dict(noise=-1.0), "noise must be a finite number >= 0"),
        (dict(noise=float("inf")), r"noise must be a finite number >= 0.*got inf"),
        (dict(noise=float("nan")), r"noise must be a finite number >= 0.*got nan"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _volume(**kwargs)


def test_a_negative_volume_count_is_named():
    """phantom[n_train_volumes=-3] ran with no training split, saying nothing."""
    with pytest.raises(ValueError, match=r"n_train_volumes must be an integer >= 0 "
                       r"\(got -3\)"):
        phantom_volumes("train", -3, 0, image_size=32)


def test_phantoms_that_cannot_fit_are_refused_before_generating():
    """phantom[image_size=1024,n_slices=400] generated for minutes, then
    numpy's MemoryError: refused at once, with the memory it would need."""
    with pytest.raises(MemoryError, match=r"phantom: 10 volumes of image_size=1024, "
                       r"n_coils=8, n_slices=400 need at least 1\d\d\d\.\d GB of "
                       r"memory .* 64\.0 GB are available\. Use fewer"):
        check_phantom_memory(10, 1024, 8, 400, available=64e9)
    # The quickstart's phantoms need little.
    assert phantom_memory_bytes(10, 128, 8, 4) < 0.3e9
    check_phantom_memory(10, 128, 8, 4, available=1e9)


@pytest.mark.parametrize("parameters, message", [
    (dict(image_size=1024, n_slices=400), "need at least"),
    (dict(noise=1e400), "noise must be a finite number"),
    (dict(n_train_volumes=-3), "n_train_volumes must be an integer >= 0"),
])
def test_the_dataset_refuses_before_generating(parameters, message):
    from benchopt.benchmark import Benchmark
    from benchopt.utils.run_context import RunContext

    from ..conftest import REPO

    dataset = {d.name: d for d in Benchmark(REPO).get_datasets()}["phantom"]
    dataset = dataset.get_instance(**parameters)
    RunContext(base_seed="0", dataset_name=str(dataset), repetition=0).attach(
        None, dataset, None)  # what benchopt run does
    with pytest.raises((ValueError, MemoryError), match=message):
        dataset.get_data()


def test_measure_hides_test_targets_and_estimates_maps():
    v = _volume(n_coils=4)
    sampling = CartesianSampling("equispaced", 4)
    test = measure(v, sampling, keep_target=False)
    train = measure(v, sampling, keep_target=True)
    assert test.target is None and train.target is v.target
    assert test.mask.shape == (3, 1, 1, 32) and test.target_size == (32, 32)
    assert (test.y * ~test.mask == 0).all()
    # Estimated maps are RSS-normalised where there is signal.
    norm = rss(test.smaps)
    assert torch.allclose(norm[v.target > 0.2 * v.target.max()], torch.tensor(1.0))


def test_measure_rejects_nan_kspace():
    v = _volume()
    v.kspace[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="Volume 'v': k-space contains NaN"):
        measure(v, CartesianSampling("random", 4), keep_target=False)
