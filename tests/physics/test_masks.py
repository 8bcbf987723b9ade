import numpy as np
import pytest

from benchmark_mri.physics import CartesianSampling, acs_bounds, slice_seed


@pytest.mark.parametrize("mask_type", ["random", "equispaced", "gaussian"])
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


@pytest.mark.parametrize("acceleration", [4, 8])
@pytest.mark.parametrize("n_cols", [128, 368, 181])
def test_gaussian_samples_exactly_w_over_r_densest_near_the_centre(acceleration,
                                                                   n_cols):
    sampling = CartesianSampling("gaussian", acceleration)
    masks = np.stack([sampling.column_mask(n_cols, s) for s in range(300)])
    assert (masks.sum(1) == round(n_cols / acceleration)).all()
    assert masks.sum(1).max() <= sampling.max_columns(n_cols)
    # Outside the centre block, the sampling frequency falls with the distance
    # to the centre column: near columns far more often than the edges.
    start, stop = sampling.acs_columns(n_cols)
    assert masks[:, start:stop].all()
    frequency = masks.mean(0)
    near = np.r_[start - 8:start, stop:stop + 8]
    far = np.r_[0:8, n_cols - 8:n_cols]
    assert frequency[near].mean() > 5 * frequency[far].mean()
    # Symmetric about the centre on average (no side preferred).
    left, right = frequency[:start].sum(), frequency[stop:].sum()
    assert left == pytest.approx(right, rel=0.1)


def test_gaussian_differs_from_random_at_the_same_seed_and_is_seeded():
    gaussian = CartesianSampling("gaussian", 4)
    a = gaussian.mask("file1", 3, 128)
    assert (a == gaussian.mask("file1", 3, 128)).all()
    assert not (a[0] == a[1]).all()
    assert not (a == CartesianSampling("random", 4).mask("file1", 3, 128)).all()


def test_budget_of_an_acceleration():
    sampling = CartesianSampling("random", 4)
    assert sampling.max_columns(128) == 32 and sampling.max_columns(130) == 33
    assert sampling.acs_columns(128) == (59, 69)  # round(128 * 0.08) = 10
    assert CartesianSampling("equispaced", 8).acs_columns(368) == (177, 192)


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
