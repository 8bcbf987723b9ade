"""The training DataLoader: the same batches with and without workers,
fresh masks per epoch, and a worker's failure stops the training."""

import os

import pytest
import torch

from benchmark_mri.data import phantom_volumes
from benchmark_mri.data.split import Split, make_split
from benchmark_mri.learned.data import TrainingSlices, training_batches, training_loader
from benchmark_mri.physics.trajectories import make_sampling

SAMPLING = make_sampling("cartesian", 4, "random", "phantom")


def split(n=2):
    volumes = phantom_volumes("train", n, 0, image_size=32, n_coils=4, n_slices=3)
    return make_split(volumes, SAMPLING, True)


def epochs(loader, n=2):
    return [[{k: v for k, v in raw.items() if torch.is_tensor(v)} for raw in loader]
            for _ in range(n)]


def assert_same(a, b):
    assert len(a) == len(b)
    for ea, eb in zip(a, b):
        assert len(ea) == len(eb)
        for ba, bb in zip(ea, eb):
            assert ba.keys() == bb.keys()
            assert all(torch.equal(ba[k], bb[k]) for k in ba)


def test_workers_give_the_batches_of_the_main_process():
    data = split()
    inline = epochs(training_loader(data, 2, torch.Generator().manual_seed(3),
                                    workers=0))
    workers = epochs(training_loader(data, 2, torch.Generator().manual_seed(3),
                                     workers=2))
    assert_same(inline, workers)
    assert sum(b["y"].shape[0] for b in inline[0]) == 6  # every slice once


def test_training_batches_is_one_epoch_of_the_loader():
    data = split()
    batches = list(training_batches(data, 4, torch.Generator().manual_seed(0)))
    assert sum(b.y.shape[0] for b in batches) == 6


def test_random_masks_change_every_epoch_and_are_seeded():
    data = split(1)

    def masks(train_masks, seed=0):  # slice 1's mask at epochs 0 and 1
        slices = TrainingSlices(data, train_masks, seed)
        return [slices[(0, 1, epoch)]["mask"] for epoch in range(2)]

    fixed, fresh = masks("fixed"), masks("random")
    assert torch.equal(fixed[0], fixed[1])
    assert not torch.equal(fresh[0], fresh[1])
    assert not torch.equal(fresh[0], fixed[0])
    assert all(torch.equal(a, b) for a, b in zip(fresh, masks("random")))
    assert not torch.equal(fresh[0], masks("random", seed=1)[0])
    with pytest.raises(ValueError, match="train_masks='sometimes'.*fixed"):
        training_loader(data, 3, torch.Generator(), "sometimes")


class Failing(Split):
    def __init__(self, inner, how):
        super().__init__(inner.source, inner.sampling, True, inner.maps)
        self.how = how

    def training_slice(self, i, s, draw=None):
        if self.how == "raise":
            raise OSError(f"cannot read slice {s} of volume {i}")
        os._exit(3)  # the worker dies


@pytest.mark.parametrize("how, says", [
    ("raise", "cannot read slice"), ("die", "DataLoader worker .* exited")])
def test_a_failing_worker_stops_the_training_with_its_error(how, says):
    loader = training_loader(Failing(split(1), how), 2, torch.Generator(), workers=1)
    with pytest.raises((OSError, RuntimeError), match=says):
        list(loader)


@pytest.mark.parametrize("value", ["abc", "-1", "2.5"])
def test_a_bad_worker_count_is_named(monkeypatch, value):
    """BENCHMARK_MRI_LOADER_WORKERS=abc raised int()'s bare message; -1
    reached the DataLoader."""
    from benchmark_mri.learned.data import loader_workers

    monkeypatch.setenv("BENCHMARK_MRI_LOADER_WORKERS", value)
    with pytest.raises(ValueError, match=f"BENCHMARK_MRI_LOADER_WORKERS={value!r} "
                       r"is not a number of worker processes \(an integer >= 0"):
        loader_workers([])
