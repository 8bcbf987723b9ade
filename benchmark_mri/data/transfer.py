"""Training and test splits from two data sources (the `transfer` dataset).

Whether a learned reconstruction still works when the data change: a model
trained on the synthetic phantom and tested on real scanner slices, trained
on fastMRI knees and tested on brains (the fastMRI 2020 challenge's Transfer
track asked it of scanners). `transfer_split(train, test, ...)` takes the
training split from the `train` source and the test split from the `test`
source; both are measured with the one sampling the dataset gives
(acceleration, mask type, trajectory), and the other parameters are the
sources' own (`path` for a folder, `image_size` / `n_coils` / `noise` for
the phantom, `n_slices`, ...), each passed to the source that takes it.

SOURCES give both splits:
- "phantom": data.phantom_volumes, the `train` or `test` draws of `seed`;
- "fastmri_knee", "fastmri_brain": fastmri_splits.anatomy_split
  (`<root>/<anatomy>/<challenge>_train/` trains, `_val/` tests);
- "fastmri_folder": fastmri_splits.folder_split of `path`: as `train`, its
  first n_train_volumes files; as `test`, n_test_volumes of its files (0 or
  None: all).
"raw_noncartesian" (data/raw_scans.py) is known and refused: it has no
training split, and its scans follow their own trajectories, which no other
source's training split does. Counts: n_train_volumes goes to the train
source, n_test_volumes to the test source. challenge "auto": each file's own
in a folder, "multicoil" for fastMRI's knee and brain folders.
"""

from .fastmri_splits import UNAVAILABLE, anatomy_split, folder_split
from .phantom import check_phantom_memory, phantom_volumes

SOURCES = ("phantom", "fastmri_knee", "fastmri_brain", "fastmri_folder")
OWN_TRAJECTORIES = "raw_noncartesian"  # raw scans: their own trajectories, no training


def check_sources(train: str, test: str, n_train_volumes):
    """ValueError naming the parameter and the value when the `transfer`
    dataset cannot take these sources (module doc)."""
    listed = ", ".join(SOURCES)
    if train == OWN_TRAJECTORIES:
        raise ValueError(
            f"transfer: train={train!r} has no training split (its raw scans are "
            "acquired undersampled: no fully sampled volume to train on); train "
            f"on one of {listed}.")
    for side, name in (("train", train), ("test", test)):
        if name not in (*SOURCES, OWN_TRAJECTORIES):
            raise ValueError(f"transfer: {side}={name!r} is not a data source: use "
                             f"one of {listed}.")
    if test == OWN_TRAJECTORIES:
        raise ValueError(
            f"transfer: test={test!r} is sampled along its raw scans' own "
            f"trajectories, train={train!r} along the dataset's `trajectory`: "
            "sources of different trajectories are refused (a model would be "
            "tested on another acquisition than the one it trained on); test on "
            f"one of {listed}, which share the dataset's trajectory.")
    if n_train_volumes == 0:
        raise ValueError(
            f"transfer: train={train!r} with n_train_volumes=0 gives no training "
            "split: set n_train_volumes >= 1 (None: the whole split of a fastMRI "
            "source).")


def transfer_split(train: str, test: str, *, seed: int = 0, fastmri_root=None,
                   path: str = "", challenge: str = "auto", image_size: int = 128,
                   n_coils: int = 8, noise: float = 0.01,
                   trajectory: str = "cartesian", n_train_volumes=8,
                   n_test_volumes=2, n_slices=4, acquisition: str = "any",
                   shard: str = "0/1") -> dict:
    """dict(train, test, source, train_source) for the objective (its
    `sampling` is the caller's), or dict(unavailable=reason) when a source's
    files are not on this machine (module doc). seed: the phantom's draw;
    fastmri_root: benchopt's data path for "fastmri" (FASTMRI_ROOT wins)."""
    check_sources(train, test, n_train_volumes)
    options = dict(seed=seed, fastmri_root=fastmri_root, path=path,
                   challenge=challenge, image_size=image_size, n_coils=n_coils,
                   noise=noise, trajectory=trajectory, n_slices=n_slices,
                   acquisition=acquisition, shard=shard)
    splits = {}
    for side, name, count in (("train", train, n_train_volumes),
                              ("test", test, n_test_volumes)):
        volumes = source_volumes(name, side, count, **options)
        if isinstance(volumes, dict):  # not on this machine
            return {UNAVAILABLE: f"transfer: {side}={name!r}: "
                                 f"{volumes[UNAVAILABLE]}"}
        splits[side] = volumes
    return dict(splits, source=test, train_source=train)


def source_volumes(name: str, side: str, count, *, seed, fastmri_root, path,
                   challenge, image_size, n_coils, noise, trajectory, n_slices,
                   acquisition, shard):
    """The `side` ("train" / "test") volumes of source `name`: Volumes in
    memory (phantom), VolumeRefs (files), or dict(unavailable=reason)."""
    test_shard = shard if side == "test" else "0/1"
    if name == "phantom":
        keep_simulation = trajectory != "cartesian"
        if count is None:
            raise ValueError(f"transfer: the phantom has no whole split: give "
                             f"n_{side}_volumes a count (got None).")
        check_phantom_memory(count, image_size, n_coils, n_slices, keep_simulation)
        return phantom_volumes(side, count, seed, image_size=image_size,
                               n_coils=n_coils, n_slices=n_slices, noise=noise,
                               keep_simulation=keep_simulation)
    counts = (count, 0) if side == "train" else (0, count)
    if name == "fastmri_folder":
        data = folder_split(path, challenge, *counts, n_slices, test_shard,
                            needs_test=side == "test")
    else:
        anatomy = name.removeprefix("fastmri_")
        data = anatomy_split(fastmri_root, anatomy,
                             "multicoil" if challenge == "auto" else challenge,
                             *counts, n_slices, acquisition, test_shard)
    return data if UNAVAILABLE in data else data[side]
