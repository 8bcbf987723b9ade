from benchopt import BaseDataset

from benchmark_mri.data import phantom_volumes
from benchmark_mri.data.phantom import check_phantom_memory
from benchmark_mri.physics.trajectories import make_sampling


class Dataset(BaseDataset):
    """Synthetic multi-coil brain-like volumes (benchmark_mri/data/phantom.py)."""

    name = "phantom"
    parameters = {
        "image_size": [128],
        "n_coils": [8],
        "acceleration": [4],
        "mask_type": ["random"],
        "trajectory": ["cartesian"],  # or "radial", "spiral" (mask_type unused)
        "n_train_volumes": [8],
        "n_test_volumes": [2],
        "n_slices": [4],
        "noise": [0.01],
    }
    test_parameters = {
        "image_size": [32],
        "n_coils": [4],
        "n_train_volumes": [2],
        "n_test_volumes": [1],
        "n_slices": [2],
    }

    def get_data(self):
        keep_simulation = self.trajectory != "cartesian"
        check_phantom_memory(self.n_train_volumes + self.n_test_volumes,
                             self.image_size, self.n_coils, self.n_slices,
                             keep_simulation)  # before generating anything
        sampling = make_sampling(self.trajectory, self.acceleration, self.mask_type,
                                 self.name)
        seed = self.get_seed(use_repetition=True)
        shape = dict(image_size=self.image_size, n_coils=self.n_coils,
                     n_slices=self.n_slices, noise=self.noise,
                     keep_simulation=keep_simulation)
        return dict(
            train=phantom_volumes("train", self.n_train_volumes, seed, **shape),
            test=phantom_volumes("test", self.n_test_volumes, seed, **shape),
            sampling=sampling,
            source=self.name,
        )
