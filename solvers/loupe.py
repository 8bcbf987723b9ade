from benchmark_mri.learned import Inference, model_config
from benchmark_mri.learned.loupe import FullySampled, loupe_step, skip_reason, widths
from benchmark_mri.learned.loupe_run import LoupeRun
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """LOUPE (Bahadir et al. 2020): a Cartesian sampling density learned with
    the benchmark's U-Net or XPDNet (`network`, at its `preset`) on the fully
    sampled training slices, for n_epochs; then the most probable columns at
    the dataset's budget, the network fine-tuned finetune_epochs on that mask,
    the test split re-measured with it by the objective. One point per epoch
    of both phases; logit_lr_factor: how much faster the sampling logits learn
    (None: the preset's, chosen on a validation split, docs/sampling.md). See
    benchmark_mri/learned/loupe.py and loupe_run.py."""

    name = "loupe"
    parameters = {
        "network": ["unet"], "preset": ["cpu_small"], "n_epochs": [6],
        "finetune_epochs": [2], "logit_lr_factor": [None], "lr": [1e-3],
        "batch_size": [1], "loss": ["l1"],
    }
    cartesian_only = "LOUPE learns Cartesian columns."
    test_config = {"n_epochs": 1, "finetune_epochs": 1, "batch_size": 2}

    def skip(self, test, train):
        skip, reason = super().skip(test, train)
        return (skip, reason) if skip else skip_reason(self, test, train)

    def set_objective(self, test, train):
        budget = test.budget.sampling
        config = model_config(
            "loupe", network=model_config(self.network, self.preset),
            acceleration=budget.acceleration, center_fraction=budget.center_fraction,
            widths=widths(train), logit_lr_factor=self.logit_lr_factor)
        joint = self.lifecycle(config, FullySampled(train), step_fn=loupe_step)
        self.learned = LoupeRun(joint, train, test, self.finetune_epochs,
                                Inference(self.test_iterations))
