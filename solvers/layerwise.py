from benchmark_mri.learned import model_config
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """CNN of two-layer blocks trained layer-wise (Ozturkler et al., ISMRM 2022:
    each block fits the target with an l2 loss on top of the frozen blocks
    below), or end-to-end at the same depth (end_to_end=True); one point per
    epoch over all blocks. None = the preset's value; n_epochs None:
    n_blocks x epochs_per_block. See benchmark_mri/learned/layerwise.py;
    test_iterations (blocks used at test time), device, smaps: see
    benchmark_utils/learned_solver.py."""

    name = "layerwise"
    parameters = {
        "preset": ["cpu_small"], "n_blocks": [None], "width": [None],
        "kernel_size": [None], "epochs_per_block": [None], "end_to_end": [False],
        "n_epochs": [None], "lr": [1e-3], "batch_size": [1], "loss": ["l2"],
    }
    test_config = {"n_blocks": 2, "width": 8, "epochs_per_block": 1, "batch_size": 2}

    def set_objective(self, test, train):
        config = model_config("layerwise", self.preset, n_blocks=self.n_blocks,
                              width=self.width, kernel_size=self.kernel_size,
                              epochs_per_block=self.epochs_per_block,
                              end_to_end=self.end_to_end)
        self.learned = self.learned_run(config, train, test,
                                        n_epochs=self.n_epochs or config.n_epochs)
