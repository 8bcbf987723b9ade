"""Train / test volumes of the fastMRI datasets and of any fastMRI-layout folder.

What the benchopt datasets (datasets/fastmri_*.py) return from get_data:
either dict(train=[VolumeRef], test=[VolumeRef]), references to the selected
slices of each file (data.fastmri.VolumeRef: its header, no k-space; the
objective reads them lazily, data/split.py), or, when the data are not on
this machine, dict(unavailable=reason): the objective then skips the dataset
and benchopt prints the reason (benchopt datasets cannot skip themselves).
Counts of None mean the whole split.

Shards. `shard="i/n"` keeps the i-th of n contiguous groups of the test
volumes (name order; group sizes differ by at most one, as numpy's
array_split cuts), so that n tasks score a whole split together; the
training split is not sharded (a learned solver trains once for all shards,
learned/checkpoint.py). benchmark-mri report merges the shards' results.

fastMRI layout under the data root (FASTMRI_ROOT or benchopt's data path):

    <root>/knee/multicoil_train/*.h5   <root>/knee/multicoil_val/*.h5
    <root>/knee/singlecoil_train/*.h5  <root>/knee/singlecoil_val/*.h5
    <root>/brain/multicoil_train/*.h5  <root>/brain/multicoil_val/*.h5

Training volumes come from `<challenge>_train/`, test volumes from
`<challenge>_val/` (fastMRI's test splits are undersampled: no reference).
"""

from pathlib import Path

from .fastmri import CHALLENGES, FastMRIFileError, find_root, list_files, volume_ref

ANATOMIES = ("knee", "brain")
# The `acquisition` attribute values of fastMRI's files.
ACQUISITIONS = {
    "knee": ("CORPD_FBK", "CORPDFS_FBK"),
    "brain": ("AXT1", "AXT1PRE", "AXT1POST", "AXT2", "AXFLAIR"),
}
UNAVAILABLE = "unavailable"


def how_to_point(anatomy: str, looked_at: Path | None) -> str:
    """The skip message: where the data were looked for, and how to set it."""
    where = f" ({looked_at} does not exist)" if looked_at is not None else ""
    return (
        f"fastMRI {anatomy} data not found{where}. Point the benchmark at the "
        "folder holding knee/ and brain/ (e.g. knee/multicoil_train/*.h5, "
        "knee/multicoil_val/*.h5): `export FASTMRI_ROOT=/path/to/fastmri`, or "
        "in the benchmark's config.yml `data_paths: {fastmri: /path/to/fastmri}`. "
        "See the README, section 'fastMRI data'."
    )


def parse_shard(shard: str) -> tuple[int, int]:
    """(i, n) of a shard "i/n", 0 <= i < n; ValueError saying how otherwise."""
    how = ('shard is "i/n", the i-th of n groups of the test volumes, 0 <= i < n '
           "(e.g. \"0/4\"; on the command line quote it: "
           "-d \"fastmri_knee[shard=['0/4','1/4']]\")")
    try:
        i, n = (int(part) for part in str(shard).split("/"))
    except ValueError:
        raise ValueError(f"shard={shard!r} is malformed: {how}.") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard={shard!r} is out of range: {how}.")
    return i, n


def shard_volumes(volumes: list, shard: str) -> list:
    """The volumes of shard "i/n" (module doc)."""
    i, n = parse_shard(shard)
    if n > len(volumes):
        raise ValueError(f"shard={shard!r}: {n} shards of {len(volumes)} test "
                         f"volume(s) would leave some empty; use at most "
                         f"{len(volumes)} shards.")
    sizes = [len(volumes) // n + (k < len(volumes) % n) for k in range(n)]
    start = sum(sizes[:i])
    return volumes[start:start + sizes[i]]


def _check_counts(n_train, n_test, n_slices):
    for name, value in (("n_train_volumes", n_train), ("n_test_volumes", n_test)):
        if value is not None and not (isinstance(value, int) and value >= 0):
            raise ValueError(f"{name} must be an integer >= 0, or None for the "
                             f"whole split (got {value!r}).")
    if n_slices is not None and not (isinstance(n_slices, int) and n_slices >= 1):
        raise ValueError(
            f"n_slices must be an integer >= 1 or None (got {n_slices!r})."
        )


def _acquisitions(anatomy: str, acquisition: str):
    if acquisition == "any":
        return None
    if acquisition not in ACQUISITIONS[anatomy]:
        raise ValueError(
            f"acquisition={acquisition!r} is not a fastMRI {anatomy} acquisition: "
            f"use 'any' or one of {ACQUISITIONS[anatomy]}."
        )
    return [acquisition]


def anatomy_split(
    configured_root: Path | None,
    anatomy: str,
    challenge: str = "multicoil",
    n_train_volumes: int = 4,
    n_test_volumes: int = 2,
    n_slices: int | None = 8,
    acquisition: str = "any",
    shard: str = "0/1",
) -> dict:
    """fastMRI knee or brain volumes: the first n_train_volumes files of
    `<challenge>_train/` and the first n_test_volumes of `<challenge>_val/`
    (name order, after the acquisition filter; None: all), n_slices central
    slices each (None: all), the test volumes of `shard` only.

    configured_root: benchopt's data path for "fastmri"; FASTMRI_ROOT wins.
    Returns dict(train, test) or dict(unavailable=reason) when no data root
    exists or it has no `<anatomy>/` folder.
    """
    if anatomy not in ANATOMIES:
        raise ValueError(f"anatomy must be one of {ANATOMIES} (got {anatomy!r}).")
    if challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {CHALLENGES} (got {challenge!r}).")
    _check_counts(n_train_volumes, n_test_volumes, n_slices)
    parse_shard(shard)
    acquisitions = _acquisitions(anatomy, acquisition)
    root = find_root(configured_root)
    if root is None:
        return {UNAVAILABLE: how_to_point(anatomy, configured_root)}
    if not (root / anatomy).is_dir():
        return {UNAVAILABLE: how_to_point(anatomy, root / anatomy)}

    def volumes(split: str, n: int):
        if n == 0:
            return []
        folder = root / anatomy / f"{challenge}_{split}"
        files = list_files(folder, challenge, acquisitions, n_volumes=n)
        if n is not None and len(files) < n:
            raise FastMRIFileError(
                f"{folder}: {len(files)} usable file(s), fewer than the "
                f"{n} asked for; lower n_{'test' if split == 'val' else split}"
                "_volumes (None: all)."
            )
        return [volume_ref(info, n_slices) for info in files]

    test = volumes("val", n_test_volumes)  # none: a training split alone
    return dict(train=volumes("train", n_train_volumes),
                test=shard_volumes(test, shard) if test else test)


def folder_split(
    path: str | None,
    challenge: str = "auto",
    n_train_volumes: int = 0,
    n_test_volumes: int = 0,
    n_slices: int | None = None,
    shard: str = "0/1",
    needs_test: bool = True,
) -> dict:
    """Volumes from a plain folder of fastMRI-layout files.

    Files in name order: the first n_train_volumes are the training split,
    the next n_test_volumes (0 or None: all the remaining ones) the test
    split, of which `shard` keeps its group.
    challenge "auto" reads each file by its own layout (multicoil and
    singlecoil files may be mixed); "multicoil" / "singlecoil" reject files
    of the other kind. Returns dict(unavailable=reason) when no path is given.
    """
    if not path:
        return {
            UNAVAILABLE: "fastmri_folder needs a folder of fastMRI-layout .h5 "
            'files: -d "fastmri_folder[path=/path/to/folder]".'
        }
    if challenge not in (*CHALLENGES, "auto"):
        raise ValueError(
            f"challenge must be 'auto' or one of {CHALLENGES} (got {challenge!r})."
        )
    _check_counts(n_train_volumes, n_test_volumes, n_slices)
    parse_shard(shard)
    folder = Path(path).expanduser().resolve()
    files = list_files(folder, None if challenge == "auto" else challenge)
    n_train = len(files) if n_train_volumes is None else n_train_volumes
    train, test = files[:n_train], files[n_train:]
    if n_test_volumes:
        test = test[:n_test_volumes]
    if n_train_volumes and len(train) < n_train_volumes:
        raise FastMRIFileError(
            f"{folder}: {len(files)} file(s), fewer than "
            f"n_train_volumes={n_train_volumes}; lower it."
        )
    if not needs_test:
        return dict(train=[volume_ref(info, n_slices) for info in train], test=[])
    if not test:
        raise FastMRIFileError(
            f"{folder}: {len(files)} file(s), none left for the test split "
            f"after n_train_volumes={n_train_volumes}; lower it."
        )
    if n_test_volumes and len(test) < n_test_volumes:
        raise FastMRIFileError(
            f"{folder}: {len(test)} file(s) left for the test split, fewer than "
            f"n_test_volumes={n_test_volumes}."
        )
    return dict(
        train=[volume_ref(info, n_slices) for info in train],
        test=shard_volumes([volume_ref(info, n_slices) for info in test], shard),
    )
