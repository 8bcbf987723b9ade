from benchmark_mri.learned import model_config
from benchmark_mri.learned.deq import deq_step
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """Deep equilibrium reconstruction, Broyden forward, SHINE backward
    (benchmark_mri/learned/deq). opa_every: SHINE's outer-problem awareness
    (None: off). test_iterations / test_tol: the forward solve's iteration
    limit / tolerance at inference only (None: as trained); device, smaps:
    see benchmark_utils/learned_solver.py."""

    name = "deq_shine"
    parameters = {
        "backward": ["shine_fallback"],
        "forward_solver": ["broyden"],
        "forward_max_iter": [20],
        "opa_every": [None],
        "channels": [16],
        "n_epochs": [10],
        "lr": [3e-3],
        "batch_size": [4],
        "loss": ["l1"],
        "test_tol": [None],
    }
    test_config = {"channels": 4, "n_epochs": 1, "forward_max_iter": 5}

    def set_objective(self, test, train):
        config = model_config("deq", "cpu_small", channels=self.channels,
                              backward=self.backward, opa_every=self.opa_every,
                              forward_solver=self.forward_solver,
                              forward_max_iter=self.forward_max_iter)
        self.learned = self.learned_run(config, train, test, step_fn=deq_step,
                                        inference_options={"tol": self.test_tol})
