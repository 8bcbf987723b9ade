"""The budgeted acquisition: proposals checked against the budget, the test
split re-measured by the objective, and what a solver can reach."""

import numpy as np
import pytest
import torch

from benchmark_mri.data import phantom_volumes
from benchmark_mri.data.acquisition import Acquisition, ProposedMask
from benchmark_mri.data.fake_fastmri import make_tree
from benchmark_mri.data.fastmri_splits import anatomy_split
from benchmark_mri.data.maps_cache import MapsCache
from benchmark_mri.data.split import Split, make_split
from benchmark_mri.data.types import Measurement, Volume
from benchmark_mri.physics import CartesianSampling

SAMPLING = CartesianSampling("random", 4)
W = 32  # phantom width: budget ceil(32 / 4) = 8, ACS round(32 * 0.08) = 3: 15..17


def phantom_acquisition(n_test=2, n_slices=2, size=W):
    shape = dict(image_size=size, n_coils=2, n_slices=n_slices)
    test_volumes = phantom_volumes("test", n_test, 0, **shape)
    test = make_split(test_volumes, SAMPLING, False, "acs")
    train = make_split(phantom_volumes("train", 1, 0, **shape), SAMPLING, True)
    return Acquisition(test, SAMPLING), test_volumes, train


def columns(*sampled, width=W):
    mask = np.zeros(width, dtype=bool)
    mask[list(sampled)] = True
    return mask


ACS = (15, 16, 17)
GOOD = columns(*ACS, 0, 5, 10, 20, 25)  # 8 columns: at the budget


def test_the_budget_of_the_dataset():
    acquisition, _, _ = phantom_acquisition()
    budget = acquisition.split().budget
    assert budget.max_columns(W) == 8 and budget.acs_columns(W) == (15, 18)


def test_a_mask_over_budget_is_refused_naming_the_numbers():
    acquisition, _, _ = phantom_acquisition()
    over = columns(*ACS, 0, 2, 4, 6, 8, 10)  # 9 > 8
    with pytest.raises(ValueError, match=(
            r"The proposed mask of test volume 'phantom_test_000' samples 9 of 32 "
            r"columns; the budget at acceleration 4 is 8 \(ceil\(32 / 4\)\): "
            r"sample at most 8, the ACS columns included")):
        acquisition.split().remeasure(ProposedMask(over, kind="greedy"))
    assert acquisition.in_force is None  # refused: the dataset's masks stay


def test_a_mask_of_the_wrong_width_is_refused_naming_the_numbers():
    acquisition, _, _ = phantom_acquisition()
    with pytest.raises(ValueError, match=(
            r"The proposed mask is 30 columns wide; the k-space of test volume "
            r"'phantom_test_000' has 32 columns: propose a 32-column mask")):
        acquisition.measure(ProposedMask(columns(*ACS, width=30)))
    narrow = np.stack([columns(*ACS, width=31)] * 2)
    with pytest.raises(ValueError, match=(
            r"The proposed mask of test volume 'phantom_test_000', slice 0 has 31 "
            r"columns; its k-space has 32: propose a 32-column mask")):
        acquisition.measure(ProposedMask(GOOD, slices={"phantom_test_000": narrow}))
    with pytest.raises(ValueError, match=(
            r"The proposed mask of test volume 'phantom_test_000' has 1 slices; the "
            r"volume has 2: give one \(W,\) mask per slice")):
        acquisition.measure(ProposedMask(GOOD, slices={"phantom_test_000": GOOD[None]}))


def test_a_mask_without_the_acs_columns_is_refused_naming_them():
    acquisition, _, _ = phantom_acquisition()
    no_centre = columns(15, 0, 5, 10, 20, 25)  # 16 and 17 left out
    with pytest.raises(ValueError, match=(
            r"The proposed mask of test volume 'phantom_test_000' leaves out 2 of "
            r"the 3 ACS columns 15..17 \(centre fraction 0.08 of 32 columns\): "
            r"columns 16, 17. The dataset's ACS columns are always sampled")):
        acquisition.measure(ProposedMask(no_centre))
    per_slice = np.stack([GOOD, columns(16, 17, 1)])
    with pytest.raises(ValueError,
                       match="'phantom_test_001', slice 1 leaves out 1 of the 3"):
        acquisition.measure(ProposedMask(GOOD, slices={"phantom_test_001": per_slice}))


def test_bad_proposals_are_named():
    with pytest.raises(ValueError, match="needs columns or slices"):
        ProposedMask()
    with pytest.raises(ValueError, match=r"True / False \(or 0 / 1\)"):
        ProposedMask(np.full(W, 0.5))
    with pytest.raises(ValueError, match=r"expected a \(W,\) mask, got shape"):
        ProposedMask({W: np.ones((2, W))})
    acquisition, _, _ = phantom_acquisition()
    with pytest.raises(TypeError, match="takes a ProposedMask"):
        acquisition.measure(GOOD)


def test_the_test_split_re_measured_with_a_proposal():
    acquisition, volumes, _ = phantom_acquisition()
    test = acquisition.split()
    # the masks the measurements were taken with, not the code's own mask draw
    assert acquisition.record() == {"sampled_fraction": pytest.approx(
        float(np.mean([test[i].mask.float().mean() for i in range(2)]))),
        "solver_mask": 0}
    remeasured = test.remeasure(ProposedMask(GOOD, kind="learned"))
    for i, volume in enumerate(volumes):
        m = remeasured[i]
        assert torch.equal(m.mask[:, 0, 0, :], torch.from_numpy(GOOD).expand(2, W))
        assert torch.equal(m.y, volume.kspace * torch.from_numpy(GOOD))
        assert m.target is None and m.smaps.shape == m.y.shape
    assert acquisition.record() == {"sampled_fraction": 8 / 32, "solver_mask": 1}
    assert acquisition.mask_name() == "learned"
    assert [m[:, 2].tolist() for m in acquisition.gallery_masks(2)] == [[0, 0]] * 2
    acquisition.reset()
    assert acquisition.record()["solver_mask"] == 0
    assert acquisition.mask_name() == "random"


def test_one_mask_per_slice():
    acquisition, volumes, _ = phantom_acquisition()
    other = columns(*ACS, 1, 2, 3)
    remeasured = acquisition.measure(ProposedMask(
        GOOD, slices={"phantom_test_001": np.stack([other, GOOD])}, kind="per slice"))
    assert torch.equal(remeasured[1].mask[0, 0, 0], torch.from_numpy(other))
    assert torch.equal(remeasured[1].mask[1, 0, 0], torch.from_numpy(GOOD))
    assert torch.equal(remeasured[0].mask[1, 0, 0], torch.from_numpy(GOOD))
    assert acquisition.record()["sampled_fraction"] == pytest.approx(
        (3 * 8 + 6) / (4 * 32))


def _reachable_tensors(split, n_slices):
    """Every tensor a solver reaches through a Split's public interface, but
    coil maps (estimated from the undersampled data): its measurements
    (fields, chunks, training slices), its source's reads and references,
    its targets, and the public attributes of all of these."""
    found, seen = [], set()

    def walk(obj, depth=0):
        if id(obj) in seen or depth > 6:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            found.append(obj)
        elif isinstance(obj, dict):
            for key, item in obj.items():
                if key != "smaps":
                    walk(item, depth + 1)
        elif isinstance(obj, list | tuple):
            for item in obj:
                walk(item, depth + 1)
        elif isinstance(obj, Measurement | Volume):
            for name in ("y", "mask", "target", "kspace"):
                walk(getattr(obj, name, None), depth + 1)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            for name, value in vars(obj).items():
                if not name.startswith("_"):
                    walk(value, depth + 1)

    for i in range(len(split)):
        walk(split[i])
        walk(list(split.chunks(i)))
        walk([split.training_slice(i, s) for s in range(n_slices)])
        walk(split.source.read(i))
        walk(split.source.read(i, with_target=True))
        walk([split.source.reference(i), split.target(i), split.targets()[i]])
        with pytest.raises(ValueError, match="Only training slices are read fully"):
            split.fully_sampled(i, 0)
    walk(split.head(1)[0])
    walk(split)
    return found


def test_a_solver_re_measuring_the_test_split_never_receives_it_fully_sampled():
    """What a solver is handed (the test split, and the split re-measured with
    its proposal) yields no fully sampled test k-space and no test target,
    through any public attribute or read; the training split is read fully
    sampled, as it may be."""
    acquisition, volumes, train = phantom_acquisition()
    test = acquisition.split()
    remeasured = test.remeasure(ProposedMask(GOOD, kind="learned"))
    proposed = torch.from_numpy(GOOD)[None, None, None]
    for split, masks in ((test, [test.masks(i) for i in range(2)]),
                         (remeasured, [proposed] * 2)):
        reached = _reachable_tensors(split, 2)
        kspace = [t for t in reached if t.is_complex()
                  and t.shape[-3:] == volumes[0].kspace.shape[-3:]]
        assert kspace  # the measurements were reached
        for t in kspace:
            # Zero on every column its volume's mask leaves out.
            assert any(((t * ~m[:t.shape[0]]).abs().max() == 0
                        and not torch.equal(t, v.kspace[:t.shape[0]]))
                       for v, m in zip(volumes, masks)), "fully sampled k-space"
        for t in reached:
            assert not any(t.shape == v.target.shape and torch.equal(t, v.target)
                           for v in volumes), "a test target reached"
        assert all(split.target(i) is None for i in range(2))
    full = phantom_volumes("train", 1, 0, image_size=W, n_coils=2, n_slices=2)[0]
    sl = train.fully_sampled(0, 1)
    assert torch.equal(sl.kspace[0], full.kspace[1])
    assert torch.equal(sl.target[0], full.target[1])


def test_a_training_split_cannot_be_re_measured_and_measured_splits_have_no_source():
    _, _, train = phantom_acquisition()
    with pytest.raises(ValueError, match="Only the test split the objective hands"):
        train.remeasure(ProposedMask(GOOD))
    assert train.budget is None
    from benchmark_mri.data.split import as_split

    measured = as_split(list(train))
    with pytest.raises(ValueError, match="no fully sampled volume"):
        measured.fully_sampled(0, 0)


def test_files_are_read_sealed_and_keep_their_maps_cache(tmp_path):
    """A test split of fastMRI files: read undersampled; its ESPIRiT maps are
    those of the unsealed split (same cache keys), and a proposal gets its own."""
    tree = make_tree(tmp_path / "tree")
    refs = anatomy_split(tree, "knee", "multicoil", 1, 2, n_slices=1)["test"]
    cache = MapsCache(tmp_path / "cache")
    raw = make_split(refs, SAMPLING, False, "espirit", cache)
    acquisition = Acquisition(raw, SAMPLING)
    sealed = acquisition.split()
    assert isinstance(sealed, Split) and not sealed.in_memory
    assert sealed.fingerprint() == raw.fingerprint()
    assert sealed.missing_maps(0) and sealed.prepare_maps() == 2
    assert not raw.missing_maps(0)  # the same keys: computed once
    for i in range(2):
        a, b = sealed[i], raw[i]
        assert torch.equal(a.y, b.y) and torch.equal(a.smaps, b.smaps)
        read = sealed.source.read(i)
        assert torch.equal(read.kspace, b.y) and read.target is None
    width = sealed.source.kspace_shape(0)[-1]
    budget = sealed.budget
    start, stop = budget.acs_columns(width)
    proposal = np.zeros(width, dtype=bool)
    proposal[start:stop] = True
    remeasured = sealed.remeasure(ProposedMask(proposal))
    assert remeasured.missing_maps(0)  # another mask: other maps
    full = refs[0].read().kspace
    assert torch.equal(remeasured[0].y, full * torch.from_numpy(proposal))
