"""The noise-conditional score network: a small U-Net that takes sigma.

Song & Ermon, "Generative Modeling by Estimating Gradients of the Data
Distribution" (NeurIPS 2019, NCSN) and "Improved Techniques for Training
Score-Based Generative Models" (NeurIPS 2020, NCSNv2): the score of the prior
smoothed at noise level sigma, s(x, sigma) ~ grad log p_sigma(x), with
p_sigma = p * N(0, sigma^2 I).

`ScoreNet(config)` is called as `net(x, sigma) -> score`: x (B, H, W) real
float32 images (the prior is on real images, see score/__init__.py), sigma
(B,) float32 noise levels, score (B, H, W). Inside, the U-Net F sees the
image scaled to unit variance, c_in x with c_in = 1 / sqrt(sigma^2 +
SIGMA_DATA^2) (the input scaling of Karras et al., EDM, 2022), and log sigma
twice: as a constant input channel and through an embedding added to every
block's features; its output is divided by sigma, as NCSNv2 conditions its
unconditional network: s(x, sigma) = F(c_in x, log sigma) / sigma, so that F
predicts the (negated) unit noise -z of x = x0 + sigma z.

Layout: `depth` levels; at level l a block of two 3x3 convolutions with
`channels * 2**l` filters (GroupNorm, SiLU; the sigma embedding added after
the first), 2x2 average pooling down, nearest-neighbour upsampling and a 3x3
convolution up, skip connections by concatenation; a final 1x1 convolution
initialised at zero (the untrained score is 0). Images whose sides are not
multiples of 2**(depth - 1) are zero-padded, and the output cropped back.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

SIGMA_DATA = 0.5  # rough std of the normalised images (max ~1), EDM's c_in


@dataclass(frozen=True)
class ScoreConfig:
    """The score network and the noise ladder it is trained on.

    channels: filters of the first level (doubled at each level down);
    depth: levels of the U-Net (>= 1); sigma_max, sigma_min: the ladder's
    ends, in units of the normalised image (each slice divided by its
    zero-filled maximum, learned/data.py); n_levels: L noise levels,
    geometric from sigma_max down to sigma_min (`noise_levels`); patch:
    side of the square crops the network is trained on (dsm.DSMStep; None:
    whole images), patches: crops per training slice and step. The
    network is fully convolutional: it scores whole images at test time.
    """

    channels: int = 16
    depth: int = 3
    sigma_max: float = 0.5
    sigma_min: float = 0.01
    n_levels: int = 6
    patch: int | None = 64
    patches: int = 4

    def __post_init__(self):
        for name in ("channels", "depth", "n_levels"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1 (got {value!r}).")
        if not (self.sigma_max > 0 and self.sigma_min > 0):
            raise ValueError(f"The noise levels must be > 0 (got sigma_max="
                             f"{self.sigma_max!r}, sigma_min={self.sigma_min!r}).")
        if self.sigma_min > self.sigma_max:
            raise ValueError(f"sigma_min={self.sigma_min!r} exceeds sigma_max="
                             f"{self.sigma_max!r}.")


PRESETS = {"cpu_small": ScoreConfig()}


def noise_levels(sigma_max: float, sigma_min: float, n_levels: int) -> torch.Tensor:
    """(L,) float32, geometric from sigma_max down to sigma_min (one level:
    sigma_min)."""
    if n_levels == 1:
        return torch.tensor([float(sigma_min)])
    return torch.logspace(math.log10(sigma_max), math.log10(sigma_min), n_levels,
                          dtype=torch.float64).float()


def _groups(n: int) -> int:
    return math.gcd(n, 8)


class Block(nn.Module):
    """Two 3x3 convolutions with GroupNorm and SiLU; the sigma embedding
    (E,) is projected and added after the first."""

    def __init__(self, n_in: int, n_out: int, n_embed: int):
        super().__init__()
        self.conv1 = nn.Conv2d(n_in, n_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(_groups(n_out), n_out)
        self.embed = nn.Linear(n_embed, n_out)
        self.conv2 = nn.Conv2d(n_out, n_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(n_out), n_out)

    def forward(self, x, embedding):
        h = F.silu(self.norm1(self.conv1(x)))
        h = h + self.embed(embedding)[:, :, None, None]
        return F.silu(self.norm2(self.conv2(h)))


class ScoreNet(nn.Module):
    """See the module doc: net(x (B, H, W), sigma (B,)) -> score (B, H, W)."""

    def __init__(self, config: ScoreConfig = ScoreConfig()):
        super().__init__()
        self.config = config
        widths = [config.channels * 2**level for level in range(config.depth)]
        n_embed = 4 * config.channels
        self.n_embed = n_embed
        self.embedding = nn.Sequential(nn.Linear(n_embed, n_embed), nn.SiLU(),
                                       nn.Linear(n_embed, n_embed))
        self.encoders = nn.ModuleList(
            Block(a, b, n_embed) for a, b in zip([2, *widths[:-1]], widths))
        self.ups = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 3, padding=1)
                                 for i in reversed(range(config.depth - 1)))
        self.decoders = nn.ModuleList(Block(2 * widths[i], widths[i], n_embed)
                                      for i in reversed(range(config.depth - 1)))
        self.head = nn.Conv2d(widths[0], 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def _fourier(self, log_sigma: torch.Tensor) -> torch.Tensor:
        """(B, E) sin / cos features of log sigma."""
        half = self.n_embed // 2
        freqs = torch.exp(torch.linspace(0.0, math.log(100.0), half,
                                         device=log_sigma.device))
        angles = log_sigma[:, None] * freqs[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        B, H, W = x.shape
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(B)
        log_sigma = sigma.log()
        c_in = torch.rsqrt(sigma**2 + SIGMA_DATA**2)
        multiple = 2 ** (self.config.depth - 1)
        pad_h, pad_w = (-H) % multiple, (-W) % multiple
        h = torch.stack([x * c_in[:, None, None],
                         log_sigma[:, None, None].expand(B, H, W)], dim=1)
        h = F.pad(h, (0, pad_w, 0, pad_h))  # (B, 2, H', W')
        embedding = self.embedding(self._fourier(log_sigma))  # (B, E)
        skips = []
        for level, encoder in enumerate(self.encoders):
            if level:
                h = F.avg_pool2d(h, 2)
            h = encoder(h, embedding)
            skips.append(h)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips[:-1])):
            h = up(F.interpolate(h, scale_factor=2, mode="nearest"))
            h = decoder(torch.cat([h, skip], dim=1), embedding)
        out = self.head(h)[:, 0, :H, :W]  # (B, H, W)
        return out / sigma[:, None, None]
