from benchmark_mri.learned import model_config
from benchmark_mri.learned.rim import GREEDY_UNSUPPORTED, rim_step
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """Recurrent inference machine (Putzky & Welling; Lønning et al.), trained
    with the loss over all steps; one point per epoch. None = the preset's
    value; test_iterations: time steps at inference (None = as trained);
    training: "end_to_end" or "checkpoint" (gradient checkpointing; "greedy"
    is skipped: the steps share their weights); device, smaps: see
    benchmark_utils/learned_solver.py."""

    name = "rim"
    parameters = {
        "preset": ["cpu_small"], "n_steps": [None], "hidden_channels": [None],
        "n_epochs": [6], "lr": [1e-3], "batch_size": [1], "loss": ["l1"],
        "training": ["end_to_end"],
    }
    test_config = {"n_steps": 1, "hidden_channels": 4, "n_epochs": 1, "batch_size": 2}

    def skip(self, test, train):
        if self.training == "greedy":
            return True, GREEDY_UNSUPPORTED
        return super().skip(test, train)

    def set_objective(self, test, train):
        config = model_config("rim", self.preset, n_steps=self.n_steps,
                              hidden_channels=self.hidden_channels,
                              training=self.training)
        self.learned = self.learned_run(config, train, test, step_fn=rim_step)
