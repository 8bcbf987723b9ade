from benchopt import BaseDataset

from benchmark_mri.data.fastmri_splits import folder_split
from benchmark_mri.physics.trajectories import make_sampling


class Dataset(BaseDataset):
    """Any folder of fastMRI-layout .h5 files (e.g. converted scanner data).

    Files in name order: the first n_train_volumes train, the next
    n_test_volumes (0 or None: all the rest) test. challenge "auto" reads each file
    by its own layout. Use: -d "fastmri_folder[path=/data/my_scans]".
    """

    name = "fastmri_folder"
    parameters = {
        "path": [""],
        "challenge": ["auto"],
        "acceleration": [4],
        "mask_type": ["random"],
        "trajectory": ["cartesian"],  # or "radial", "spiral": retrospective
        "n_train_volumes": [0],
        "n_test_volumes": [0],
        "n_slices": [None],  # central slices of each volume; None: all
        "shard": ["0/1"],  # test volumes of group i of n (docs/parallel.md)
    }

    def get_data(self):
        data = folder_split(self.path, self.challenge, self.n_train_volumes,
                            self.n_test_volumes, self.n_slices, self.shard)
        return dict(data, source=self.name, sampling=make_sampling(
            self.trajectory, self.acceleration, self.mask_type, self.name))
