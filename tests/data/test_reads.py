"""What a run reads and computes: each test volume's k-space once per pass,
chunk by chunk, and coil maps only for the solvers that read them."""

from collections import Counter

import pytest
import torch

from benchmark_mri.classical import WaveletL1Split, grappa, zero_filled
from benchmark_mri.data.coil_maps import CoilMaps
from benchmark_mri.data.fake_fastmri import write_volume
from benchmark_mri.data.fastmri import inspect_file, volume_ref
from benchmark_mri.data.maps_cache import MapsCache
from benchmark_mri.data.sources import VolumeFiles
from benchmark_mri.data.split import Split, make_split
from benchmark_mri.physics.trajectories import make_sampling

SAMPLING = make_sampling("cartesian", 4, "random", "test")


class CountingFiles(VolumeFiles):
    """VolumeFiles that count how often each slice's k-space is read."""

    def __init__(self, refs):
        super().__init__(refs)
        self.reads = Counter()

    def read(self, i, first=0, count=None, with_target=True):
        count = self.n_slices(i) - first if count is None else count
        self.reads.update((i, s) for s in range(first, first + count))
        return super().read(i, first, count, with_target)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("val")
    return [volume_ref(inspect_file(write_volume(folder / f"file{i}.h5", i,
                                                 n_slices=5)))
            for i in range(2)]


def counted(files, smaps="acs", cache=None):
    source = CountingFiles(files)
    return Split(source, SAMPLING, False, CoilMaps(smaps, cache)), source


def assert_read_once(split, source):
    assert set(source.reads) == set(split.slices()), "a slice was not read"
    again = {k: n for k, n in source.reads.items() if n > 1}
    assert not again, f"slices read more than once: {again}"


@pytest.mark.parametrize("solve", [zero_filled, lambda m: grappa(m, 3, 0.01)],
                         ids=["zero_filled", "grappa"])
def test_slice_by_slice_solvers_read_each_slice_once_in_chunks(files, solve,
                                                               monkeypatch):
    import benchmark_mri.data.split as split_module
    monkeypatch.setattr(split_module, "CHUNK_BYTES", 2 * 4 * 64 * 48 * 8)  # 2 slices
    split, source = counted(files, "espirit", MapsCache(None))
    assert split.chunk_slices(0) == 2
    recon = split.map(solve)
    assert_read_once(split, source)
    assert [r.shape for r in recon] == [(5, 32, 32)] * 2
    whole = [solve(make_split(files, SAMPLING, False)[i]) for i in range(2)]
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(recon, whole))
    assert not split.maps.cache.memory, "ESPIRiT maps computed for nobody"


def test_chunks_measure_as_the_whole_volume(files, tmp_path, monkeypatch):
    import benchmark_mri.data.split as split_module
    whole = make_split(files, SAMPLING, False, "espirit", MapsCache(tmp_path))[1]
    monkeypatch.setattr(split_module, "CHUNK_BYTES", 2 * 4 * 64 * 48 * 8)
    chunks = list(make_split(files, SAMPLING, False, "espirit",
                             MapsCache(tmp_path)).chunks(1))
    assert [c.y.shape[0] for c in chunks] == [2, 2, 1]
    for field in ("y", "mask", "smaps"):  # maps: the cached ones, same keys
        assert torch.equal(torch.cat([getattr(c, field) for c in chunks]),
                           getattr(whole, field)), field
    assert len(list(tmp_path.rglob("*.npy"))) == 5  # one entry per slice


def test_wavelet_l1_reads_each_volume_once_over_its_iterations(files):
    split, source = counted(files)
    algs = WaveletL1Split(split, 1e-3)
    for _ in range(3):
        algs.step()
    result = algs.result()
    assert_read_once(split, source)
    assert [r.shape for r in result["recon"]] == [(5, 32, 32)] * 2


def test_no_maps_are_computed_before_a_solver_reads_them(files, tmp_path):
    cache = MapsCache(tmp_path)
    split = make_split(files, SAMPLING, False, "espirit", cache)
    m = split[0]
    assert not m.maps_ready and not list(tmp_path.rglob("*.npy"))
    zero_filled(m)
    assert not m.maps_ready
    acs = split.with_smaps("acs")[0]
    assert acs.smaps.shape == m.y.shape and not list(tmp_path.rglob("*.npy"))
    assert m.smaps.shape == m.y.shape and m.maps_ready
    assert len(list(tmp_path.rglob("*.npy"))) == 5


def test_a_learned_run_reads_each_test_slice_once_and_computes_no_espirit(
        files, tmp_path):
    from benchmark_mri.data import phantom_volumes
    from benchmark_mri.learned import LearnedRun, Training, TrainSettings, model_config

    train = make_split(phantom_volumes("train", 1, 0, image_size=32, n_coils=4,
                                       n_slices=2), SAMPLING, True)
    test, source = counted(files, "espirit", MapsCache(tmp_path))
    run = LearnedRun(Training("xpdnet", model_config("xpdnet", "cpu_small", n_iter=1),
                              train, TrainSettings(n_epochs=1, batch_size=2),
                              log=lambda _: None), test)
    run.run(lambda: True)
    result = run.result()
    assert_read_once(test, source)
    assert [r.shape for r in result["recon"]] == [(5, 32, 32)] * 2
    assert not list(tmp_path.rglob("*.npy")), "ESPIRiT maps computed for nobody"
