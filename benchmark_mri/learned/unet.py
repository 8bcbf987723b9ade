"""fastMRI's U-Net baseline, and the U-Net that E2E-VarNet refines images with.

Zbontar et al., "fastMRI: An Open Dataset and Benchmarks for Accelerated
MRI" (arXiv:1811.08839, 2018), after Ronneberger et al. (MICCAI 2015).

`UNet(n_in, n_out, channels, n_pools)`, real (N, n_in, H, W) -> (N, n_out,
H, W): `n_pools` encoder blocks (the first with `channels` filters, each next
one doubling them), each followed by a 2x2 average pooling; a bottleneck
block; `n_pools` decoder steps, each a 2x2 stride-2 transposed convolution
(instance norm, LeakyReLU 0.2) whose output is reflect-padded right / bottom
by one pixel where an odd size was pooled, concatenated before the encoder's
skip features and refined by a block; a final 1x1 convolution with bias. A
block: two 3x3 convolutions without bias, each followed by instance norm
(no affine, eps 1e-5) and LeakyReLU(0.2). fastMRI's baselines train without
dropout, and so has none here. The layout of its weights is fastMRI's
`Unet`'s: `fastmri_unet_key` maps fastMRI's parameter names to these.

`UNetRecon`, the image-to-image baseline, called as model(y, physics,
target_size=(h, w)) like every learned model (learned/__init__.py): the
zero-filled coil images of y (B, C, H, W), centre-cropped to the target's
size, their root-sum-of-squares magnitude, normalised by its mean and
unbiased standard deviation (+ 1e-11) and clamped to [-6, 6] (fastMRI's
UnetDataTransform), the U-Net, then un-normalised (x std + mean, as fastMRI's
UnetModule): (B, h, w) real, not made non-negative.
"""

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import center_crop
from ..physics import ifft2c, rss

NORM_EPS = 1e-11  # fastMRI's normalize_instance
CLAMP = 6.0


def _norm_act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(F.instance_norm(x), 0.2)


class ConvBlock(nn.Module):
    """Two 3x3 convolutions (no bias), each with instance norm and LeakyReLU."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(n_in, n_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(n_out, n_out, 3, padding=1, bias=False)

    def forward(self, x):
        return _norm_act(self.conv2(_norm_act(self.conv1(x))))


class UpConv(nn.Module):
    """2x2 stride-2 transposed convolution (no bias), instance norm, LeakyReLU."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(n_in, n_out, 2, stride=2, bias=False)

    def forward(self, x):
        return _norm_act(self.conv(x))


class UNet(nn.Module):
    """See the module doc: real (N, n_in, H, W) -> (N, n_out, H, W)."""

    def __init__(self, n_in: int, n_out: int, channels: int, n_pools: int):
        super().__init__()
        widths = [channels * 2**i for i in range(n_pools)]
        self.encoders = nn.ModuleList(
            ConvBlock(a, b) for a, b in zip([n_in, *widths[:-1]], widths))
        self.bottleneck = ConvBlock(widths[-1], 2 * widths[-1])
        self.upsamplers = nn.ModuleList(UpConv(2 * w, w) for w in reversed(widths))
        self.decoders = nn.ModuleList(ConvBlock(2 * w, w) for w in reversed(widths))
        self.head = nn.Conv2d(channels, n_out, 1)

    def forward(self, x):
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = F.avg_pool2d(x, 2)
        x = self.bottleneck(x)
        for upsample, decoder in zip(self.upsamplers, self.decoders):
            skip = skips.pop()
            x = upsample(x)
            pad = [0, int(x.shape[-1] != skip.shape[-1]),
                   0, int(x.shape[-2] != skip.shape[-2])]
            if any(pad):
                x = F.pad(x, pad, mode="reflect")
            x = decoder(torch.cat([x, skip], dim=1))
        return self.head(x)


# fastMRI's Unet parameter names -> UNet's (after any model prefix).
_FASTMRI_UNET = (
    (r"^down_sample_layers\.(\d+)\.layers\.0\.", r"encoders.\1.conv1."),
    (r"^down_sample_layers\.(\d+)\.layers\.4\.", r"encoders.\1.conv2."),
    (r"^conv\.layers\.0\.", "bottleneck.conv1."),
    (r"^conv\.layers\.4\.", "bottleneck.conv2."),
    (r"^up_transpose_conv\.(\d+)\.layers\.0\.", r"upsamplers.\1.conv."),
    (r"^up_conv\.(\d+)\.0\.layers\.0\.", r"decoders.\1.conv1."),
    (r"^up_conv\.(\d+)\.0\.layers\.4\.", r"decoders.\1.conv2."),
    (r"^up_conv\.(\d+)\.1\.", "head."),
    (r"^up_conv\.(\d+)\.layers\.0\.", r"decoders.\1.conv1."),
    (r"^up_conv\.(\d+)\.layers\.4\.", r"decoders.\1.conv2."),
)
FASTMRI_UNET_ROOTS = ("down_sample_layers.", "conv.", "up_transpose_conv.", "up_conv.")


def fastmri_unet_key(key: str) -> str:
    """A parameter name of fastMRI's `Unet` as UNet's; other names unchanged."""
    for pattern, replacement in _FASTMRI_UNET:
        new, count = re.subn(pattern, replacement, key)
        if count:
            return new
    return key


@dataclass(frozen=True)
class UNetConfig:
    """The U-Net baseline's defaults: the CPU-small size (trains in minutes on
    the phantom); "paper" is the configuration of fastMRI's published U-Net
    weights (knee_mc / knee_sc / brain leaderboard state dicts).

    channels: filters of the first block (doubling at every pooling);
    n_pools: poolings.
    """

    channels: int = 16
    n_pools: int = 3

    def __post_init__(self):
        if self.channels < 1 or self.n_pools < 1:
            raise ValueError(f"channels and n_pools must be >= 1 (got {self}).")


PRESETS = {
    "cpu_small": UNetConfig(),
    "paper": UNetConfig(channels=256, n_pools=4),
}


class UNetRecon(nn.Module):
    """model(y, physics, target_size=(h, w)) -> (B, h, w) real; see the
    module doc. y: (B, C, H, W) complex64 Cartesian k-space (physics unused:
    the baseline sees only the zero-filled image)."""

    takes_target_size = True  # learned/data.py passes the target's size
    max_inference_iterations = 0  # none: test_iterations stays None (models.py)

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = config
        self.unet = UNet(1, 1, config.channels, config.n_pools)

    @staticmethod
    def pretrained_key(key: str) -> str:
        """fastMRI's `Unet` state-dict names as this model's (learned/pretrained.py)."""
        if key.startswith(FASTMRI_UNET_ROOTS):
            return "unet." + fastmri_unet_key(key)
        return key

    def forward(self, y, physics=None, n_iter=None, target_size=None):
        if n_iter is not None:
            raise ValueError("The U-Net has no inner iterations: leave "
                             f"test_iterations=None (got {n_iter}).")
        image = rss(ifft2c(y))  # (B, H, W)
        if target_size is not None:
            image = center_crop(image, target_size)
        mean = image.mean(dim=(-2, -1), keepdim=True)
        std = image.flatten(1).std(dim=1)[:, None, None]
        x = ((image - mean) / (std + NORM_EPS)).clamp(-CLAMP, CLAMP)
        return self.unet(x[:, None])[:, 0] * std + mean
