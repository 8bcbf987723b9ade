"""Raw non-Cartesian scans as test data: shot undersampling, CG-SENSE
references, scans without a reference, and where the files are found."""

import numpy as np
import pytest
import torch

from benchmark_mri.data import measure, phantom_volumes
from benchmark_mri.data.noncartesian import NonCartesianScan, ShotSampling
from benchmark_mri.data.raw_scans import (
    find_scan_folder,
    how_to_point,
    load_scan,
    reference_image,
)
from benchmark_mri.metrics import psnr
from benchmark_mri.physics import CartesianSampling, CoilNufft, ifft2c
from benchmark_mri.physics.trajectories import golden_angle_radial

from ..conftest import SHARED_DATA

NONCARTESIAN = SHARED_DATA / "noncartesian"


def _radial_scan(n_spokes=60, size=32):
    """A fully sampled radial scan of one phantom slice, and its RSS target."""
    (volume,) = phantom_volumes("test", 1, 0, image_size=size, n_coils=4, n_slices=1)
    traj = golden_angle_radial(n_spokes, 2 * size)  # shot-major
    coils = ifft2c(volume.kspace)[0]  # (C, H, W)
    kspace = CoilNufft(traj, (size, size))(coils)  # (C, K)
    scan = NonCartesianScan(
        name="radial", kspace=kspace.reshape(4, n_spokes, 2 * size),
        traj=traj.reshape(n_spokes, 2 * size, 2), dcf=None, image_shape=(size, size))
    return scan, volume.target


def test_reference_of_a_full_scan_is_the_image():
    scan, target = _radial_scan()
    reference = reference_image(scan)
    value = psnr(target.numpy(), reference.numpy())
    print(f"CG-SENSE reference of a fully sampled radial phantom: {value:.1f} dB")
    assert reference.shape == (1, 32, 32) and value > 30


def test_shot_sampling_keeps_every_rth_shot_and_hides_the_target():
    scan, target = _radial_scan()
    scan = NonCartesianScan(**{**scan.__dict__, "target": target})
    m = measure(scan, ShotSampling(3), keep_target=False)
    assert m.y.shape == (1, 4, 20 * 64) and m.traj.shape == (20 * 64, 2)
    assert m.target is None and m.target_size == (32, 32) and m.mask is None
    assert measure(scan, ShotSampling(3), keep_target=True).target is target
    # Density compensation in Nyquist cells: on the full scan (60 spokes >=
    # the 51 of Nyquist) the weights add up to the sampled disc's area.
    full = measure(scan, ShotSampling(1), keep_target=False)
    assert float(full.dcf.sum()) == pytest.approx(np.pi / 4 * 32 * 32, rel=0.1)


def test_bad_sampling_is_named():
    scan, _ = _radial_scan(n_spokes=4)
    with pytest.raises(ValueError, match="acceleration must be an integer >= 1"):
        ShotSampling(0)
    with pytest.raises(ValueError, match="use at most 4"):
        measure(scan, ShotSampling(5), keep_target=False)
    (volume,) = phantom_volumes("test", 1, 0, image_size=32, n_coils=2, n_slices=1)
    with pytest.raises(ValueError, match="raw non-Cartesian scan takes a ShotSampling"):
        measure(volume, ShotSampling(2), keep_target=False)
    with pytest.raises(ValueError, match="raw non-Cartesian scan takes a ShotSampling"):
        measure(scan, CartesianSampling("random", 4), keep_target=False)


def test_scan_folder_lookup(tmp_path, monkeypatch):
    env = {"BENCHMARK_MRI_RAW_DIR": str(tmp_path / "absent")}
    with pytest.raises(FileNotFoundError, match="BENCHMARK_MRI_RAW_DIR=.*absent"):
        find_scan_folder(None, tmp_path, env)
    assert find_scan_folder(tmp_path, tmp_path / "bench", {}) == tmp_path
    assert find_scan_folder(None, tmp_path / "bench", {}) is None
    assert "BENCHMARK_MRI_RAW_DIR" in how_to_point(None)
    with pytest.raises(ValueError, match="Unknown raw scan 'knee'"):
        load_scan(tmp_path, "knee")


@pytest.mark.skipif(not NONCARTESIAN.is_dir(), reason="the shared raw "
                    f"non-Cartesian data is absent ({NONCARTESIAN})")
def test_shared_scans_one_with_and_one_without_reference():
    spiral = load_scan(NONCARTESIAN, "spiral_phantom_8ch_60il", n_coils=2)
    assert spiral.kspace.shape == (2, 60, 1182) and spiral.image_shape == (300, 300)
    assert spiral.target.shape == (1, 200, 200)
    assert torch.isfinite(spiral.target).all() and float(spiral.target.max()) > 0
    heart = load_scan(NONCARTESIAN, "radial_cardiac_12ch_25spokes", n_coils=2)
    assert heart.target is None and heart.target_size == (128, 128)
    m = measure(heart, ShotSampling(1), keep_target=True)
    assert m.target is None and m.y.shape == (1, 2, 25 * 256)
