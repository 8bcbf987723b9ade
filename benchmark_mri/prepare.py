"""`benchmark-mri prepare`: a split's coil maps computed ahead, in parallel.

A test measurement's maps are computed when a solver first reads them, and
cached (data/coil_maps.py, data/maps_cache.py); on a whole fastMRI
validation split that is hours of ESPIRiT inside the first run that needs
them. `prepare_maps` computes them beforehand, one
volume per joblib task, into the same cache ($BENCHMARK_MRI_CACHE), with
the same keys: a run after it reads every map from the cache.
"""

from pathlib import Path

from .data.fastmri import VolumeRef
from .data.maps_cache import MapsCache, default_cache_dir
from .data.split import make_split


def dataset_instances(benchmark_dir: Path, pattern: str) -> list:
    """The benchopt dataset instances a `-d` pattern selects (e.g.
    "fastmri_knee[n_test_volumes=None]")."""
    from benchopt.benchmark import Benchmark, _list_parametrized_classes
    from benchopt.utils.run_context import RunContext

    benchmark = Benchmark(Path(benchmark_dir))
    selected = benchmark.check_dataset_patterns([pattern])
    instances = [instance for instance, installed
                 in _list_parametrized_classes(*selected) if installed]
    for instance in instances:  # what `benchopt run` gives get_data (its seed)
        RunContext(base_seed="0", dataset_name=str(instance), repetition=0).attach(
            None, instance, None)
    return instances


def _prepare_volume(ref, sampling, smaps: str, cache_root: Path) -> int:
    split = make_split([ref], sampling, False, smaps, MapsCache(cache_root))
    return split.prepare_maps()


def prepare_maps(benchmark_dir: Path, pattern: str, smaps: str = "espirit",
                 jobs: int = 1, log=print) -> int:
    """Compute the missing `smaps` maps of the test split of every dataset
    that `pattern` selects, `jobs` volumes at a time; returns how many
    volumes were computed. Raises ValueError naming the dataset when its
    data are not on this machine or are not read from files."""
    from joblib import Parallel, delayed

    root = default_cache_dir(benchmark_dir)
    total = 0
    for dataset in dataset_instances(benchmark_dir, pattern):
        data = dataset.get_data()
        if "unavailable" in data:
            raise ValueError(f"{dataset}: {data['unavailable']}")
        refs = data["test"]
        if not all(isinstance(ref, VolumeRef) for ref in refs):
            raise ValueError(
                f"{dataset}: its volumes are in memory (generated, or read whole, "
                "at every run), not file references: their coil maps are not "
                "cached, there is nothing to prepare. prepare computes the cached "
                "maps of fastmri_knee, fastmri_brain or fastmri_folder.")
        split = make_split(refs, data["sampling"], False, smaps, MapsCache(root))
        todo = [i for i in range(len(split)) if split.missing_maps(i)]
        log(f"{dataset}: {len(refs)} test volumes, {len(todo)} without cached "
            f"{smaps} maps; computing them with {jobs} job(s) into {root}")
        done = Parallel(n_jobs=jobs)(
            delayed(_prepare_volume)(refs[i], data["sampling"], smaps, root)
            for i in todo)
        total += sum(1 for n in done if n)
    return total
