"""Train-or-reuse the score network, then sample the test posteriors: what
solvers/score_posterior.py delegates to.

`ScorePosteriorRun(training, test, sampler, eval_every)` takes the shared
training lifecycle (learned/lifecycle.py's Training of the score network,
with the DSM step function `DSMStep`: the model, train-or-reuse under the
checkpoint cache's lock, the memory meter, divergence) and adds what
LearnedRun cannot: there, a point reconstructs the test split with one
network call; here a reconstruction is many sampler runs, and the samples
are themselves a curve. `run(callback)`, benchopt's "callback"
strategy, calls back:

1. before training: the sampler's starting image, the zero-filled SENSE
   image Re A^H y (no sample drawn, n_samples_drawn = 0, std NaN);
2. every `eval_every` training epochs (0: never), but not after the last:
   the posterior from one chain per test slice with the network of that
   epoch (n_samples_drawn = 1: the std of one sample is undefined, NaN).
   Those draws happen in `result()`, outside benchopt's timer, as the test
   reconstructions of other learned solvers; a sampler that diverges there
   flags that point `diverged` and training goes on. With weights reused
   from the cache there is no training point;
3. after training (or reuse), the test-time curve: blocks of
   `sampler.sample_block` chains per test slice, drawn inside the timer (the
   solver's time includes sampling), one point after each block with the
   running posterior mean and standard deviation of all chains drawn so far,
   until `sampler.n_samples`. The checkpoint is saved before sampling.

`result()` reports, besides `recon` (per test volume (S, h, w) float32: the
magnitude of the posterior mean, scale restored, centre-cropped to the
target) and `posterior_std` (the per-pixel standard deviation of the
samples, same shape; NaN with fewer than 2 samples): n_samples_drawn (also
as inference_iterations, the test-time count of other learned solvers),
time_per_sample_s (sampling seconds per chain and test slice),
inference_time_s (sampling seconds per test slice for the posterior so far),
sigma_y (the mean likelihood noise level over the test slices, normalised
units), the training measurements of LearnedRun (train_time_s,
train_time_per_epoch_s, train_peak_memory_mb, saved_tensors_mb, train_loss,
train_epochs, reused_checkpoint), training_diverged and diverged (0 / 1; a
diverged point has NaN images).
"""

import hashlib
from dataclasses import dataclass

import torch

from ...data import center_crop
from ...physics import Sense
from ..data import slices_batch
from ..device import timed
from ..lifecycle import Outcome, Training, model_maps
from .dsm import LOSS, DSMStep
from .network import noise_levels
from .noise import estimate_sigma_y
from .samplers import SamplerDiverged, SamplerSettings, posterior_score, sample


def dsm_step(config, settings) -> DSMStep:
    """The denoising score-matching step of a ScoreConfig, seeded by the
    training settings (its noise draws and crops: dsm.py), which it checks
    first: loss "l2" (score matching is a squared error) and n_epochs >= 1
    (the score network is trained here: no pretrained weights)."""
    check_settings(settings)
    return DSMStep(config, settings.seed, config.patch, config.patches)


def check_settings(settings, name: str = "score_posterior"):
    """ValueError naming the setting when `settings` cannot train a score
    network (see dsm_step)."""
    if settings.loss != LOSS:
        raise ValueError(f"{name}: loss={settings.loss!r}: denoising score "
                         f"matching is a squared error, use loss={LOSS!r}.")
    if settings.n_epochs < 1:
        raise ValueError(f"{name}: n_epochs must be >= 1 (got "
                         f"{settings.n_epochs}): the score network is trained "
                         "here, there are no pretrained weights.")


def seeded_generator(device, *parts) -> torch.Generator:
    """A generator on `device` seeded from `parts` (ints / strings)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return torch.Generator(device=device).manual_seed(
        int.from_bytes(digest[:8], "little") % 2**63)


@dataclass
class PosteriorStats:
    """Running sums of the samples of one test volume, cropped: (S, h, w)
    float64 sum and sum of squares, and the sample count."""

    total: torch.Tensor
    squares: torch.Tensor
    count: int = 0

    @classmethod
    def empty(cls, n_slices: int, size: tuple[int, int]) -> "PosteriorStats":
        zeros = torch.zeros(n_slices, *size, dtype=torch.float64)
        return cls(zeros, zeros.clone())

    def add(self, samples: torch.Tensor):
        """samples: (S, k, h, w) real."""
        samples = samples.to(torch.float64)
        self.total += samples.sum(1)
        self.squares += samples.square().sum(1)
        self.count += samples.shape[1]

    def mean(self) -> torch.Tensor:
        """(S, h, w) float32: the magnitude of the posterior mean."""
        return (self.total / max(self.count, 1)).abs().float()

    def std(self) -> torch.Tensor:
        """(S, h, w) float32: the samples' standard deviation (n - 1 in the
        denominator); NaN with fewer than two samples."""
        if self.count < 2:
            return torch.full(self.total.shape, float("nan"))
        n = self.count
        var = (self.squares - self.total.square() / n) / (n - 1)
        return var.clamp_min(0).sqrt().float()


class ScorePosteriorRun:
    """Train-or-reuse a ScoreNet, then sample the test posteriors (module doc).

    Args:
        training: the score network's training lifecycle (lifecycle.Training
            of a ScoreConfig, loss "l2", n_epochs >= 1, step function a
            DSMStep: see `dsm_step`).
        test: the test split (Cartesian), given the training's coil maps.
        sampler: SamplerSettings (not in the checkpoint key; None: the
            defaults).
        eval_every: epochs between the training points (0: none, module doc).
    """

    def __init__(self, training: Training, test, sampler: SamplerSettings | None = None,
                 eval_every: int = 0):
        name, settings, config = training.name, training.settings, training.config
        check_settings(settings, name)
        if not (isinstance(eval_every, int) and eval_every >= 0):
            raise ValueError(f"{name}: eval_every must be an integer >= 0 (got "
                             f"{eval_every!r}).")
        test = model_maps(test, training.smaps, name)
        if not (training.train.is_cartesian and test.is_cartesian):
            raise ValueError(f"{name} takes Cartesian k-space only (its likelihood "
                             "assumes white k-space noise).")
        self.training, self.eval_every = training, eval_every
        self.name, self.settings = name, settings
        self.sampler = SamplerSettings() if sampler is None else sampler
        self.test, self.log = test, training.log
        self.model, self.device = training.model, training.device
        self.sigmas = noise_levels(config.sigma_max, config.sigma_min,
                                   config.n_levels).tolist()
        self.diverged = False  # the sampler's
        self.state = ("start",)  # what result() reports: see the module doc
        self.stats = None  # PosteriorStats per test volume
        self.sampling_time = 0.0
        self.sigma_y = float("nan")
        self._cached = None

    # -- the benchopt curve ------------------------------------------------

    def run(self, callback):
        """Callbacks: the starting image, each epoch but the last, then each
        block of samples (module doc)."""
        if not callback():
            return
        n_epochs = self.settings.n_epochs

        def after_epoch(epoch: int) -> bool:
            if epoch < n_epochs and self.eval_every and epoch % self.eval_every == 0:
                self.state = ("epoch", epoch)
                return callback()
            return True

        outcome = self.training.run(after_epoch=after_epoch)
        if outcome == Outcome.DIVERGED:
            self.state = ("diverged",)
            callback()
        elif outcome in (Outcome.TRAINED, Outcome.REUSED):
            self._sample(callback)

    def _sample(self, callback):
        """The test-time curve: blocks of chains, one point after each."""
        self.stats = [PosteriorStats.empty(self.test.n_slices(i),
                                           self.test.target_size(i))
                      for i in range(len(self.test))]
        self.sampling_time, drawn, block = 0.0, 0, 0
        while drawn < self.sampler.n_samples:
            k = min(self.sampler.sample_block, self.sampler.n_samples - drawn)
            start = timed(self.device)
            try:
                for i, m in enumerate(self.test):
                    generator = seeded_generator(self.device, self.settings.seed,
                                                 "sample", i, block)
                    self.stats[i].add(self.draw(m, k, generator))
            except SamplerDiverged as err:
                self.diverged = True
                self.log(f"{self.name}: {err} The run stops here: it is recorded as "
                         "diverged (diverged=1, NaN metrics).")
                self.state = ("diverged",)
                callback()
                return
            self.sampling_time += timed(self.device) - start
            drawn, block = drawn + k, block + 1
            self.state = ("samples", drawn)
            if not callback():
                return

    # -- sampling ----------------------------------------------------------

    def prior(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """The network's score of the prior smoothed at sigma, x (B, H, W)."""
        return self.model(x, torch.full((x.shape[0],), sigma, device=x.device))

    @torch.no_grad()
    def draw(self, m, k: int, generator: torch.Generator) -> torch.Tensor:
        """(S, k, h, w) float32 on the CPU: k posterior samples of each slice
        of test measurement m (real images, scale restored, centre-cropped to
        m.target_size). Raises SamplerDiverged."""
        self.model.eval()
        out, sigma_ys = [], []
        step = self.sampler.slices
        for s in range(0, m.y.shape[0], step):
            batch = slices_batch(m.y[s:s + step], m.smaps[s:s + step],
                                 m.mask[s:s + step], None, None, True,
                                 device=self.device)
            B = batch.y.shape[0]
            sigma_y = (estimate_sigma_y(batch.y, batch.physics.mask)
                       if self.sampler.sigma_y is None else
                       torch.full((B,), float(self.sampler.sigma_y),
                                  device=self.device))
            sigma_ys.append(sigma_y.cpu())
            physics = Sense(batch.physics.mask.repeat_interleave(k, 0),
                            batch.physics.smaps.repeat_interleave(k, 0))
            y = batch.y.repeat_interleave(k, 0)  # (B k, C, H, W)
            score = posterior_score(self.prior, physics, y,
                                    sigma_y.repeat_interleave(k, 0))
            x0 = physics.adjoint(y).real
            noise = torch.randn(x0.shape, generator=generator, device=self.device)
            x = sample(score, x0 + self.sigmas[0] * noise, self.sigmas, self.sampler,
                       generator)
            x = x * batch.scale.repeat_interleave(k, 0)[:, None, None]
            x = center_crop(x, m.target_size)
            out.append(x.reshape(B, k, *x.shape[-2:]).float().cpu())
        self.sigma_y = float(torch.cat(sigma_ys).mean())
        return torch.cat(out)

    def _epoch_point(self, epoch: int) -> tuple[list, list]:
        """One chain per test slice with this epoch's network."""
        stats = []
        start = timed(self.device)
        for i, m in enumerate(self.test):
            stat = PosteriorStats.empty(m.y.shape[0], m.target_size)
            stat.add(self.draw(m, 1, seeded_generator(self.device, self.settings.seed,
                                                      "epoch", epoch, i)))
            stats.append(stat)
        self.epoch_time = timed(self.device) - start
        return stats

    @torch.no_grad()
    def zero_filled(self) -> list[torch.Tensor]:
        """|Re A^H y| of each test volume, (S, h, w): the sampler's start."""
        recon = []
        for m in self.test:
            batch = slices_batch(m.y, m.smaps, m.mask, None, None, True,
                                 device=self.device)
            x = batch.physics.adjoint(batch.y).real * batch.scale[:, None, None]
            recon.append(center_crop(x.abs(), m.target_size).float().cpu())
        return recon

    # -- results -----------------------------------------------------------

    def _nan_images(self) -> list[torch.Tensor]:
        return [torch.full((self.test.n_slices(i), *self.test.target_size(i)),
                           float("nan")) for i in range(len(self.test))]

    def result(self) -> dict:
        """benchopt's get_result at the current point (module doc)."""
        if self._cached is not None and self._cached[0] == self.state:
            return self._cached[1]
        kind = self.state[0]
        point_diverged = False
        n_drawn, per_sample, per_slice = 0, float("nan"), float("nan")
        n_slices = max(self.test.n_slices_total, 1)
        if kind == "start":
            recon, std = self.zero_filled(), self._nan_images()
        elif kind == "epoch":
            try:
                stats = self._epoch_point(self.state[1])
                recon, std = [s.mean() for s in stats], [s.std() for s in stats]
                n_drawn, per_slice = 1, self.epoch_time / n_slices
                per_sample = per_slice
            except SamplerDiverged as err:
                self.log(f"{self.name}: after epoch {self.state[1]}: {err} This "
                         "point is recorded as diverged; training goes on.")
                recon, std = self._nan_images(), self._nan_images()
                point_diverged = True
        elif kind == "samples":
            recon = [s.mean() for s in self.stats]
            std = [s.std() for s in self.stats]
            n_drawn = self.state[1]
            per_slice = self.sampling_time / n_slices
            per_sample = per_slice / n_drawn
        else:  # diverged
            recon, std = self._nan_images(), self._nan_images()
        result = dict(
            recon=recon,
            posterior_std=std,
            n_samples_drawn=n_drawn,
            inference_iterations=n_drawn,
            time_per_sample_s=per_sample,
            inference_time_s=per_slice,
            sigma_y=self.sigma_y if n_drawn else float("nan"),
            **self.training.measurements(),
            diverged=int(self.diverged or point_diverged),
        )
        self._cached = (self.state, result)
        return result

