from benchmark_mri.learned import default_step, model_config
from benchmark_mri.learned.xpdnet import greedy_step
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """XPDNet (Ramzi et al. 2020), trained on the train split; one point per
    epoch. None = the preset's value; density_compensation: on non-Cartesian
    data, the NC-PDNet variant (density-compensated data consistency) or the
    plain NUFFT data term; training: "end_to_end", "checkpoint" (gradient
    checkpointing) or "greedy" (GLEAM, greedy_modules modules; see
    benchmark_mri/learned/xpdnet.py). test_iterations, device, smaps: see
    benchmark_utils/learned_solver.py."""

    name = "xpdnet"
    parameters = {
        "preset": ["cpu_small"], "n_iter": [None], "mwcnn": [None],
        "refine_smaps": [None], "n_epochs": [6], "lr": [2e-3], "batch_size": [1],
        "loss": ["l1"], "density_compensation": [True],
        "training": ["end_to_end"], "greedy_modules": [2],
    }
    test_config = {"n_iter": 1, "n_epochs": 1, "batch_size": 2}

    def skip(self, test, train):
        if self.refine_smaps and not (test.is_cartesian and train.is_cartesian):
            return True, "xpdnet: refine_smaps works on Cartesian data only."
        return super().skip(test, train)

    def set_objective(self, test, train):
        config = model_config("xpdnet", self.preset, n_iter=self.n_iter,
                              mwcnn=self.mwcnn, refine_smaps=self.refine_smaps,
                              training=self.training,
                              greedy_modules=self.greedy_modules)
        step_fn = greedy_step if config.training == "greedy" else default_step
        self.learned = self.learned_run(
            config, train, test, step_fn=step_fn,
            density_compensation=self.density_compensation)
