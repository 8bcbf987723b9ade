from benchopt import BaseDataset
from benchopt.config import get_data_path

from benchmark_mri.data.fastmri_splits import anatomy_split
from benchmark_mri.physics.trajectories import make_sampling


class Dataset(BaseDataset):
    """fastMRI knee (Zbontar et al. 2018) from the user's copy of the files.

    Train volumes from <root>/knee/<challenge>_train/, test volumes from
    <root>/knee/<challenge>_val/; root: $FASTMRI_ROOT or config.yml's
    data_paths: {fastmri: ...}. Skipped, saying how, when absent.
    """

    name = "fastmri_knee"
    parameters = {
        "challenge": ["multicoil"],
        "acceleration": [4],
        "mask_type": ["random"],  # the fastMRI knee challenge's
        "trajectory": ["cartesian"],  # or "radial", "spiral": retrospective
        "n_train_volumes": [4],  # None: the whole split (streamed from disk)
        "n_test_volumes": [2],  # None: the whole split
        "n_slices": [8],  # central slices of each volume; None: all
        "acquisition": ["any"],  # or CORPD_FBK, CORPDFS_FBK
        # The test volumes of group i of n, quoted on the command line:
        # -d "fastmri_knee[shard=['0/2','1/2']]" (docs/parallel.md).
        "shard": ["0/1"],
    }
    test_parameters = {"n_train_volumes": [1], "n_test_volumes": [1], "n_slices": [1]}

    def get_data(self):
        data = anatomy_split(
            get_data_path("fastmri"), "knee", self.challenge,
            self.n_train_volumes, self.n_test_volumes, self.n_slices,
            self.acquisition, self.shard,
        )
        return dict(data, source=self.name, sampling=make_sampling(
            self.trajectory, self.acceleration, self.mask_type, self.name))
