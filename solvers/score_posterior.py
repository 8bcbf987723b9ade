from benchmark_mri.learned import model_config
from benchmark_mri.learned.score import SamplerSettings, ScorePosteriorRun, dsm_step
from benchmark_utils.learned_solver import LearnedSolver


class Solver(LearnedSolver):
    """Score-based posterior sampling (Ramzi et al. 2020): a noise-conditional
    score network trained by denoising score matching on the training targets
    is the prior; annealed HMC ("hmc") or Langevin ("langevin") samples the
    posterior under the SENSE model; the result is the posterior mean, with
    the per-pixel posterior std (`posterior_std`). Points: the zero-filled
    start, every `eval_every` epochs (0: none), then one per `sample_block`
    samples up to `n_samples`. None = the preset's value; sigma_y: the
    likelihood's noise level (None: estimated from the outer k-space). See
    benchmark_mri/learned/score/ and docs/score-posterior.md."""

    name = "score_posterior"
    parameters = {
        "preset": ["cpu_small"], "channels": [None], "n_levels": [None],
        "sigma_max": [None], "sigma_min": [None],
        "n_epochs": [30], "lr": [2e-3], "batch_size": [4], "loss": ["l2"],
        "method": ["hmc"], "n_samples": [8], "n_steps": [3], "step_size": [None],
        "n_leapfrog": [4], "sigma_y": [None], "sample_block": [2], "eval_every": [10],
    }
    cartesian_only = ("its Gaussian likelihood assumes white k-space noise, which "
                      "the density-compensated non-Cartesian data term is not.")
    test_config = {"channels": 4, "n_levels": 2, "n_epochs": 1, "batch_size": 2,
                   "n_samples": 2, "n_steps": 1, "n_leapfrog": 1}

    def skip(self, test, train):
        if self.test_iterations is not None:
            return True, (f"{self.name} has no test_iterations: its test-time cost "
                          "is n_samples chains of n_steps per noise level.")
        if self.train_masks != "fixed":
            return True, (f"{self.name} trains its prior on the targets alone: "
                          "train_masks changes nothing, keep 'fixed'.")
        return super().skip(test, train)

    def set_objective(self, test, train):
        config = model_config("score", self.preset, channels=self.channels,
                              n_levels=self.n_levels, sigma_max=self.sigma_max,
                              sigma_min=self.sigma_min)
        settings = self.train_settings()
        training = self.lifecycle(config, train, settings, dsm_step(config, settings))
        sampler = SamplerSettings(method=self.method, n_samples=self.n_samples,
                                  n_steps=self.n_steps, step_size=self.step_size,
                                  n_leapfrog=self.n_leapfrog, sigma_y=self.sigma_y,
                                  sample_block=self.sample_block)
        self.learned = ScorePosteriorRun(training, test, sampler, self.eval_every)
