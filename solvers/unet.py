from benchmark_mri.learned import model_config
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """fastMRI's U-Net baseline (Zbontar et al. 2018): image to image on the
    zero-filled RSS magnitude, cropped and normalised as fastMRI does; one
    point per epoch. None = the preset's value ("paper": the configuration of
    fastMRI's published U-Net weights). pretrained / pretrained_sha256 /
    n_epochs=0: as for varnet."""

    name = "unet"
    parameters = {
        "preset": ["cpu_small"], "channels": [None], "n_pools": [None],
        "n_epochs": [6], "lr": [1e-3], "batch_size": [1], "loss": ["l1"],
        "pretrained": [None], "pretrained_sha256": [None],
    }
    cartesian_only = "fastMRI's U-Net takes Cartesian k-space only."
    test_config = {"channels": 4, "n_pools": 2, "n_epochs": 1, "batch_size": 2}

    def set_objective(self, test, train):
        config = model_config("unet", self.preset, channels=self.channels,
                              n_pools=self.n_pools)
        self.learned = self.learned_run(config, train, test)
