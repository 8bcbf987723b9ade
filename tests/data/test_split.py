"""Lazy splits of fastMRI files against the in-memory path; the maps cache;
shards of the test split."""

import os
import warnings

import numpy as np
import pytest
import torch

from benchmark_mri.data.fake_fastmri import make_tree, write_volume
from benchmark_mri.data.fastmri import inspect_file, volume_ref
from benchmark_mri.data.fastmri_splits import anatomy_split, parse_shard, shard_volumes
from benchmark_mri.data.maps_cache import MapsCache
from benchmark_mri.data.split import make_split
from benchmark_mri.physics.trajectories import make_sampling

SAMPLING = make_sampling("cartesian", 4, "random", "test")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("fastmri"))


def refs(tree, split="val", n_slices=None):
    data = anatomy_split(tree, "knee", "multicoil", 2, 3, n_slices=n_slices)
    return data["train" if split == "train" else "test"]


def memory(refs_, keep_target, smaps):
    return make_split([r.read() for r in refs_], SAMPLING, keep_target, smaps)


def LazySplit(refs_, sampling, keep_target, smaps="acs", cache=None):  # noqa: N802
    return make_split(refs_, sampling, keep_target, smaps, cache)


@pytest.mark.parametrize("keep_target, smaps", [(True, "acs"), (False, "espirit")])
def test_lazy_split_measures_as_the_in_memory_path(tree, tmp_path, keep_target, smaps):
    volumes = refs(tree, n_slices=2)
    lazy = LazySplit(volumes, SAMPLING, keep_target, smaps, MapsCache(tmp_path))
    eager = memory(volumes, keep_target, smaps)
    assert len(lazy) == len(eager) == 3 and lazy.names == eager.names
    for i, (a, b) in enumerate(zip(lazy, eager)):
        for field in ("y", "mask", "smaps", "target"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None and y is None) or torch.equal(x, y), field
        assert lazy.n_slices(i) == b.y.shape[0]
        assert lazy.target_size(i) == b.target_size
        assert lazy.acquisition(i) == eager.acquisition(i)
        assert torch.equal(lazy.target(i), eager.target(i))
    assert lazy.is_cartesian and lazy.has_targets == keep_target


def test_a_training_slice_read_alone_is_that_of_the_whole_volume(tree):
    volumes = refs(tree, "train")
    lazy = LazySplit(volumes, SAMPLING, True, "acs")
    eager = memory(volumes, True, "acs")
    for v, s in [(0, 0), (0, 2), (1, 1)]:
        a, b = lazy.training_slice(v, s), eager.training_slice(v, s)
        for field in ("y", "mask", "smaps", "target"):
            assert torch.equal(a[field], b[field]), field
    # Fresh masks: deterministic per draw, other than the fixed ones, alike
    # in memory and on disk.
    a, b = lazy.training_slice(0, 1, "e1"), eager.training_slice(0, 1, "e1")
    assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["y"], b["y"])
    assert not torch.equal(a["mask"], lazy.training_slice(0, 1)["mask"])
    assert not torch.equal(a["mask"], lazy.training_slice(0, 1, "e2")["mask"])


def test_fingerprint_is_file_identity(tmp_path):
    folder = tmp_path / "multicoil_train"
    paths = [write_volume(folder / f"f{i}.h5", i) for i in range(2)]
    split = LazySplit([volume_ref(inspect_file(p)) for p in paths], SAMPLING, True)
    first = split.fingerprint()
    assert LazySplit(split.source.refs, SAMPLING, True).fingerprint() == first
    fewer = LazySplit([volume_ref(inspect_file(paths[0]), 2)], SAMPLING, True)
    assert fewer.fingerprint() != first
    other = make_sampling("cartesian", 8, "random", "test")
    assert LazySplit(split.source.refs, other, True).fingerprint() != first
    write_volume(paths[1], seed=7)  # the file changed: the key does
    changed = LazySplit([volume_ref(inspect_file(p)) for p in paths], SAMPLING, True)
    assert changed.fingerprint() != first


def test_maps_are_computed_once_then_read(tree, tmp_path, monkeypatch):
    volumes = refs(tree, n_slices=2)
    split = LazySplit(volumes, SAMPLING, False, "espirit", MapsCache(tmp_path))
    assert split.prepare_maps() == 3
    entries = sorted(tmp_path.rglob("*.npy"))
    assert len(entries) == 6  # one per slice
    calls = []
    import benchmark_mri.data.coil_maps as module
    monkeypatch.setattr(module, "estimate_on_device",
                        lambda *a: calls.append(a) or pytest.fail("recomputed"))
    again = LazySplit(volumes, SAMPLING, False, "espirit", MapsCache(tmp_path))
    assert again.prepare_maps() == 0
    assert torch.equal(again[1].smaps, split[1].smaps) and not calls


def test_a_corrupted_entry_is_recomputed_with_a_warning(tree, tmp_path):
    volumes = refs(tree, n_slices=1)[:1]
    reference = LazySplit(volumes, SAMPLING, False, "espirit",
                          MapsCache(tmp_path))[0].smaps  # met on demand: cached
    (entry,) = tmp_path.rglob("*.npy")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    split = LazySplit(volumes, SAMPLING, False, "espirit", MapsCache(tmp_path))
    with pytest.warns(UserWarning, match="unreadable.*recomputing"):
        maps = split[0].smaps
    assert torch.equal(maps, reference)
    assert np.load(entry).shape == tuple(maps.shape[1:])  # rewritten


def test_a_changed_file_misses_the_cache(tmp_path):
    path = write_volume(tmp_path / "val" / "f.h5", 1, n_slices=1)
    cache = MapsCache(tmp_path / "cache")
    assert LazySplit([volume_ref(inspect_file(path))], SAMPLING, False, "espirit",
                     cache)[0].smaps is not None  # cached
    write_volume(path, 2, n_slices=1)
    split = LazySplit([volume_ref(inspect_file(path))], SAMPLING, False, "espirit",
                      cache)
    assert split.missing_maps(0)
    fresh = memory(split.source.refs, False, "espirit")[0]
    assert torch.equal(split[0].smaps, fresh.smaps)  # never the stale maps


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_warns_and_runs_without_it(tree, tmp_path):
    tmp_path.chmod(0o500)
    try:
        split = LazySplit(refs(tree, n_slices=1)[:1], SAMPLING, False, "espirit",
                          MapsCache(tmp_path / "cache"))
        with pytest.warns(UserWarning, match="cannot be written.*keeps them in memory"):
            assert split[0].smaps is not None
    finally:
        tmp_path.chmod(0o700)


def test_an_unwritable_cache_warns_once_and_keeps_the_maps(tree, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    split = LazySplit(refs(tree, n_slices=1)[:2], SAMPLING, False, "espirit",
                      MapsCache(blocker))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = split[0].smaps
        assert split[1].smaps is not None
        assert torch.equal(split[0].smaps, first)
    said = [str(w.message) for w in caught if "cannot be written" in str(w.message)]
    assert len(said) == 1 and "BENCHMARK_MRI_CACHE" in said[0]


def test_make_split_keeps_the_phantom_in_memory(tree):
    from benchmark_mri.data import phantom_volumes
    volumes = phantom_volumes("test", 1, 0, image_size=32, n_coils=4, n_slices=2)
    assert make_split(volumes, SAMPLING, False).in_memory
    assert not make_split(refs(tree), SAMPLING, False).in_memory
    with pytest.raises(TypeError, match="mixes"):
        make_split([*volumes, *refs(tree)], SAMPLING, False)


def test_shards_cut_the_test_split_into_contiguous_groups():
    volumes = list(range(7))
    groups = [shard_volumes(volumes, f"{i}/3") for i in range(3)]
    assert groups == [[0, 1, 2], [3, 4], [5, 6]]
    assert shard_volumes(volumes, "0/1") == volumes
    assert parse_shard("2/5") == (2, 5)


@pytest.mark.parametrize("shard, says", [
    ("3/3", "out of range"), ("a/b", "malformed"), ("0/0", "out of range"),
    ("1", "malformed"), ("-1/2", "out of range")])
def test_bad_shards_say_what_to_write(shard, says):
    with pytest.raises(ValueError, match=f"shard='{shard}' is {says}.*0 <= i < n"):
        parse_shard(shard)


def test_more_shards_than_test_volumes(tree):
    with pytest.raises(ValueError, match="4 shards of 3 test volume.*at most 3"):
        anatomy_split(tree, "knee", "multicoil", 1, None, shard="0/4")
    assert len(anatomy_split(tree, "knee", "multicoil", None, None, shard="2/3")
               ["test"]) == 1


def test_whole_splits_are_references(tree):
    data = anatomy_split(tree, "knee", "multicoil", None, None, n_slices=None)
    assert [r.name for r in data["train"]] == ["file1001", "file1002"]
    assert len(data["test"]) == 3 and all(r.n_slices == 3 for r in data["test"])
    assert not hasattr(data["test"][0], "kspace")


def test_a_full_disk_warns_and_runs_without_the_cache(tree, tmp_path, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    split = LazySplit(refs(tree, n_slices=1)[:1], SAMPLING, False, "espirit",
                      MapsCache(tmp_path))
    with pytest.warns(UserWarning, match="No space left.*without it"):
        assert torch.isfinite(torch.view_as_real(split[0].smaps)).all()
    assert not list(tmp_path.rglob("*.npy*"))  # no half-written entry left


def test_another_sampling_measures_the_same_files_anew(tree):
    """Split.with_sampling: the training split under train_acceleration /
    train_mask_type; the same split for the same sampling (its key then
    unchanged), another fingerprint and other masks otherwise."""
    split = LazySplit(refs(tree, "train", n_slices=2), SAMPLING, True)
    assert split.with_sampling(make_sampling("cartesian", 4, "random")) is split
    at8 = split.with_sampling(make_sampling("cartesian", 8, "equispaced"))
    assert at8.setting == (8.0, "equispaced") and split.setting == (4.0, "random")
    assert at8.fingerprint() != split.fingerprint()
    assert at8.source is split.source and at8.keep_target
    assert at8[0].mask.float().mean() < 0.7 * split[0].mask.float().mean()
    assert torch.equal(at8[0].target, split[0].target)
