"""Denoising score matching (Vincent 2011; Song & Ermon 2019), as a step
function of the shared Trainer (learned/training.py).

`DSMStep(config, seed)` is called as step_fn(model, batch, loss_fn) -> loss:
each slice's normalised target (B, h, w) is zero-padded to the image grid
(H, W) of the batch's operator (what the prior is on: score/__init__.py),
`patches` random square crops of side `patch` are cut from it (the whole
image when patch is None or not smaller), each gets a noise level sigma
drawn uniformly from the ladder (network.noise_levels) and a noise z ~ N(0,
I), and the loss is

    loss_fn(r sigma s(x0 + sigma z, sigma), -r z),

with loss_fn the solver's "l2": Song & Ermon's objective with the weight
lambda(sigma) = sigma^2 (E ||sigma s + z||^2), times r^2, r the root mean
square of the slice's target. The factor r^2 puts the loss in the units of
the image: a zero score costs loss_fn(0, target) on average, the loss of an
all-zero image that the Trainer's divergence bound is counted in
(training.GROWTH_BOUND). The noise draws come from the step's own generator,
seeded by `seed`, so a training is reproducible.
"""

import torch

from .network import ScoreConfig, noise_levels

LOSS = "l2"  # the only loss that is score matching


class DSMStep:
    """Denoising score-matching step function (module doc).

    config: the ScoreConfig (the ladder); seed: the noise draws'; patch:
    side of the square training crops (None: whole images); patches: crops
    per slice and step.
    """

    def __init__(self, config: ScoreConfig, seed: int = 0, patch: int | None = None,
                 patches: int = 1):
        if patch is not None and not (isinstance(patch, int) and patch >= 8):
            raise ValueError(f"patch must be None or an integer >= 8 (got {patch!r}).")
        if not (isinstance(patches, int) and patches >= 1):
            raise ValueError(f"patches must be an integer >= 1 (got {patches!r}).")
        self.sigmas = noise_levels(config.sigma_max, config.sigma_min, config.n_levels)
        self.patch, self.patches = patch, patches
        self.generator = torch.Generator().manual_seed(seed)

    def images(self, batch) -> torch.Tensor:
        """(B * patches, p, p) float32 clean training images (module doc)."""
        target = batch.target
        H, W = batch.y.shape[-2:]
        h, w = target.shape[-2:]
        top, left = (H - h) // 2, (W - w) // 2  # center_crop's convention
        x0 = target.new_zeros(target.shape[0], H, W)
        x0[:, top:top + h, left:left + w] = target
        if self.patch is None or (self.patch >= H and self.patch >= W):
            return x0.repeat_interleave(self.patches, 0)
        ph, pw = min(self.patch, H), min(self.patch, W)
        crops = []
        for image in x0:
            i = torch.randint(0, H - ph + 1, (self.patches,), generator=self.generator)
            j = torch.randint(0, W - pw + 1, (self.patches,), generator=self.generator)
            crops += [image[a:a + ph, b:b + pw] for a, b in zip(i.tolist(), j.tolist())]
        return torch.stack(crops)

    def __call__(self, model, batch, loss_fn) -> torch.Tensor:
        x0 = self.images(batch)  # (N, p, p)
        n = x0.shape[0]
        index = torch.randint(0, len(self.sigmas), (n,), generator=self.generator)
        sigma = self.sigmas[index].to(x0.device)  # (N,)
        z = torch.randn(x0.shape, generator=self.generator).to(x0.device)
        rms = batch.target.flatten(1).square().mean(1).sqrt()
        r = rms.repeat_interleave(self.patches, 0)[:, None, None]  # (N, 1, 1)
        score = model(x0 + sigma[:, None, None] * z, sigma)
        return loss_fn(r * sigma[:, None, None] * score, -r * z)
