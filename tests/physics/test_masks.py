import numpy as np
import pytest

from benchmark_mri.physics import CartesianSampling, acs_bounds, slice_seed


@pytest.mark.parametrize("mask_type", ["random", "equispaced"])
@pytest.mark.parametrize("acceleration, fraction", [(4, 0.08), (8, 0.04)])
def test_acceleration_and_centre_fraction(mask_type, acceleration, fraction):
    sampling = CartesianSampling(mask_type, acceleration)
    assert sampling.center_fraction == fraction
    n_cols = 368  # a fastMRI knee width
    masks = np.stack([sampling.column_mask(n_cols, s) for s in range(200)])
    # About W / R columns sampled (on average for random masks).
    assert masks.sum(1).mean() == pytest.approx(n_cols / acceleration, rel=0.05)
    # The centre block of round(W * fraction) columns is always sampled.
    n_low = round(n_cols * fraction)
    pad = (n_cols - n_low + 1) // 2
    assert masks[:, pad : pad + n_low].all()
    start, stop = acs_bounds(masks[0])
    assert start <= pad and stop >= pad + n_low


def test_equispaced_spacing():
    mask = CartesianSampling("equispaced", 4).column_mask(320, seed=3)
    n_low = round(320 * 0.08)
    pad = (320 - n_low + 1) // 2
    outer = np.flatnonzero(mask[: pad - 1])
    gaps = np.diff(outer)
    # adjusted acceleration 4 * (26 - 320) / (26 * 4 - 320) = 5.44: gaps of 5 or 6.
    assert set(gaps) <= {5, 6}


def test_deterministic_per_slice_and_distinct_across_slices():
    sampling = CartesianSampling("random", 4)
    a = sampling.mask("file1000001", 3, 128)
    b = sampling.mask("file1000001", 3, 128)
    assert a.shape == (3, 1, 1, 128) and a.dtype.is_floating_point is False
    assert (a == b).all()
    assert not (a[0] == a[1]).all()
    assert not (a == sampling.mask("file1000002", 3, 128)).all()
    assert slice_seed("file1000001", 0) == slice_seed("file1000001", 0)


def test_random_mask_matches_fastmri_algorithm():
    # fastMRI's RandomMaskFunc with RandomState(seed): uniform draw < prob, then
    # the centre block (written out here independently of the module).
    n_cols, seed = 100, 1234
    rng = np.random.RandomState(seed)
    n_low = round(n_cols * 0.08)
    prob = (n_cols / 4 - n_low) / (n_cols - n_low)
    expected = rng.uniform(size=n_cols) < prob
    pad = (n_cols - n_low + 1) // 2
    expected[pad : pad + n_low] = True
    got = CartesianSampling("random", 4).column_mask(n_cols, seed)
    assert (got == expected).all()


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="Unknown mask_type 'radial'"):
        CartesianSampling("radial", 4)
    with pytest.raises(ValueError, match="No default center_fraction for accel"):
        CartesianSampling("random", 6)
    assert CartesianSampling("random", 6, center_fraction=0.05).center_fraction == 0.05
    with pytest.raises(ValueError, match="acceleration must be > 1"):
        CartesianSampling("random", 1)
    with pytest.raises(ValueError, match="center_fraction must be in"):
        CartesianSampling("random", 4, center_fraction=0.5)
    with pytest.raises(ValueError, match="leaves no autocalibration column"):
        CartesianSampling("random", 8).column_mask(8, seed=0)


def test_acs_bounds_requires_a_sampled_centre():
    mask = np.zeros(16, dtype=bool)
    mask[1::4] = True  # columns 1, 5, 9, 13: the centre column 8 is missing
    with pytest.raises(ValueError, match="no autocalibration region"):
        acs_bounds(mask)
    mask[7:10] = True
    assert acs_bounds(mask) == (7, 10)


def test_an_acceleration_without_centre_fraction_names_the_dataset_parameter():
    """-d "phantom[acceleration=3]" used to ask for a center_fraction, which
    no dataset takes."""
    from benchmark_mri.physics.trajectories import make_sampling

    with pytest.raises(ValueError, match=(
            r'phantom: acceleration=3 is not available for Cartesian masks, .*'
            r'use acceleration=4 or 8 \(e.g. -d "phantom\[acceleration=8\]"\)')):
        make_sampling("cartesian", 3, "random", "phantom")
    assert make_sampling("radial", 3, dataset="phantom").acceleration == 3
    assert make_sampling("cartesian", 8, dataset="phantom").center_fraction == 0.04
