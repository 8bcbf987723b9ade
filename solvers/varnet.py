from benchmark_mri.learned import model_config
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """E2E-VarNet (Sriram et al. 2020), fastMRI's strongest baseline, trained
    on the train split; one point per epoch. None = the preset's value
    ("paper": fastMRI's leaderboard size). pretrained: a state dict to start
    from (fastMRI's published VarNet weights load into preset=paper), checked
    against pretrained_sha256 when given; n_epochs=0 evaluates it as it is.
    test_iterations: cascades at inference (at most the trained count)."""

    name = "varnet"
    parameters = {
        "preset": ["cpu_small"], "n_cascades": [None], "channels": [None],
        "n_epochs": [6], "lr": [1e-3], "batch_size": [1], "loss": ["l1"],
        "pretrained": [None], "pretrained_sha256": [None],
    }
    cartesian_only = "E2E-VarNet updates Cartesian k-space only."
    test_config = {"n_cascades": 1, "channels": 4, "n_epochs": 1, "batch_size": 2}

    def set_objective(self, test, train):
        config = model_config("varnet", self.preset, n_cascades=self.n_cascades,
                              channels=self.channels)
        self.learned = self.learned_run(config, train, test)
