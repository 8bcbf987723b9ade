from benchopt import BaseDataset
from benchopt.config import get_data_path

from benchmark_mri.data.transfer import transfer_split
from benchmark_mri.physics.trajectories import make_sampling


class Dataset(BaseDataset):
    """Training split from one source, test split from another
    (benchmark_mri/data/transfer.py): train, test in phantom, fastmri_knee,
    fastmri_brain, fastmri_folder; the other parameters are the sources' own
    (n_train_volumes to `train`, n_test_volumes to `test`). Use:
    -d "transfer[train=phantom,test=fastmri_folder,path=../shared/data/fastmri_format]"
    """

    name = "transfer"
    parameters = {
        "train": ["phantom"], "test": ["fastmri_folder"],
        "path": [""],  # a fastmri_folder source's folder
        "challenge": ["auto"], "acquisition": ["any"],  # fastMRI sources
        "image_size": [128], "n_coils": [8], "noise": [0.01],  # the phantom
        "acceleration": [4], "mask_type": ["random"], "trajectory": ["cartesian"],
        "n_train_volumes": [8], "n_test_volumes": [2], "n_slices": [4],
        "shard": ["0/1"],  # test volumes of group i of n (docs/parallel.md)
    }
    test_parameters = {"test": ["phantom"], "image_size": [32], "n_coils": [4],
                       "n_train_volumes": [2], "n_test_volumes": [1],
                       "n_slices": [2]}

    def get_data(self):
        sampling = make_sampling(self.trajectory, self.acceleration, self.mask_type,
                                 self.name)
        data = transfer_split(
            self.train, self.test, seed=self.get_seed(use_repetition=True),
            fastmri_root=get_data_path("fastmri"), path=self.path,
            challenge=self.challenge, image_size=self.image_size,
            n_coils=self.n_coils, noise=self.noise, trajectory=self.trajectory,
            n_train_volumes=self.n_train_volumes,
            n_test_volumes=self.n_test_volumes, n_slices=self.n_slices,
            acquisition=self.acquisition, shard=self.shard)
        return dict(data, sampling=sampling)
