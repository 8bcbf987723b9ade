"""E2E-VarNet: cascades of k-space updates with learned coil maps.

Sriram et al., "End-to-End Variational Networks for Accelerated MRI
Reconstruction", MICCAI 2020 (fastMRI's strongest baseline). Every cascade i
updates the k-space estimate k (B, C, H, W), starting from y:

    k <- k - eta_i M (k - y) - F S U_i(sum_c conj(S_c) F^H k_c),

M the sampling mask, eta_i a learned data-consistency weight (1 at start),
U_i a normalised U-Net (`NormUNet`) on the coil-combined complex image, S the
coil maps. The maps come from a sensitivity network: the k-space centre (the
contiguous sampled columns around W // 2, symmetric, as fastMRI measures it
from the mask) transformed to coil images, each refined by a normalised
U-Net and divided by their root-sum-of-squares. The output is the RSS
magnitude of F^H k: (B, H, W) real.

Test-time iterations: n_iter < n_cascades runs the first n_iter cascades;
more are refused (each cascade has its own weights, there is no natural
extra one). The weights' layout is fastMRI's `VarNet`'s (`pretrained_key`
maps its names), so its published state dicts load into the "paper" preset.
The model is positively homogeneous (x a y -> x a), so the benchmark's
per-slice scaling (learned/data.py) changes nothing in its output.
"""

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..physics import Sense, fft2c, ifft2c, rss
from .unet import UNet, fastmri_unet_key


class NormUNet(nn.Module):
    """U-Net on complex images (N, H, W): real and imaginary parts as two
    channels, each normalised by its mean and unbiased std, zero-padded
    (centred) to multiples of 16, un-normalised after."""

    def __init__(self, channels: int, n_pools: int):
        super().__init__()
        self.unet = UNet(2, 2, channels, n_pools)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.stack([x.real, x.imag], dim=1)  # (N, 2, H, W)
        mean = r.mean(dim=(-2, -1), keepdim=True)
        std = r.flatten(2).std(dim=2)[..., None, None]
        h, w = r.shape[-2:]
        ph, pw = ((h - 1) | 15) + 1 - h, ((w - 1) | 15) + 1 - w
        top, left = ph // 2, pw // 2
        r = F.pad((r - mean) / std, [left, pw - left, top, ph - top])
        r = self.unet(r)[..., top : top + h, left : left + w] * std + mean
        return torch.complex(r[:, 0], r[:, 1])


def centre_columns(mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, W) bool: the autocalibration columns of each slice's mask, the
    2 n contiguous sampled columns around W // 2 (n: the shorter sampled run
    on either side; at least one column), placed as fastMRI's SensitivityModel
    places them."""
    cols = mask.reshape(mask.shape[0], -1).bool()  # (B, W)
    W = cols.shape[1]
    centre = W // 2
    left = torch.cumprod(cols[:, :centre].flip(1).int(), dim=1).sum(1)
    right = torch.cumprod(cols[:, centre:].int(), dim=1).sum(1)
    width = torch.clamp(2 * torch.minimum(left, right), min=1)  # (B,)
    start = (W - width + 1) // 2
    index = torch.arange(W, device=mask.device)
    keep = (index >= start[:, None]) & (index < (start + width)[:, None])
    return keep[:, None, None, :]


class SmapsNet(nn.Module):
    """Coil maps (B, C, H, W) from the k-space centre of y (B, C, H, W)."""

    def __init__(self, channels: int, n_pools: int):
        super().__init__()
        self.norm_unet = NormUNet(channels, n_pools)

    def forward(self, y, mask):
        images = ifft2c(y * centre_columns(mask))  # (B, C, H, W)
        B, C, H, W = images.shape
        maps = self.norm_unet(images.reshape(B * C, H, W)).reshape(B, C, H, W)
        return maps / rss(maps, dim=1)[:, None]


class Cascade(nn.Module):
    """One k-space update (module doc)."""

    def __init__(self, channels: int, n_pools: int):
        super().__init__()
        self.norm_unet = NormUNet(channels, n_pools)
        self.dc_weight = nn.Parameter(torch.ones(1))

    def forward(self, k, y, mask, smaps):
        soft_dc = torch.where(mask, k - y, torch.zeros((), dtype=k.dtype,
                                                       device=k.device))
        image = torch.sum(smaps.conj() * ifft2c(k), dim=1)  # (B, H, W)
        refined = fft2c(smaps * self.norm_unet(image)[:, None])  # (B, C, H, W)
        return k - self.dc_weight * soft_dc - refined


@dataclass(frozen=True)
class VarNetConfig:
    """E2E-VarNet's defaults: the CPU-small size (trains in minutes on the
    phantom); "paper" is fastMRI's leaderboard configuration.

    n_cascades: k-space updates; channels / n_pools: each cascade's U-Net;
    smaps_channels / smaps_pools: the sensitivity network's U-Net.
    """

    n_cascades: int = 4
    channels: int = 8
    n_pools: int = 3
    smaps_channels: int = 4
    smaps_pools: int = 3

    def __post_init__(self):
        for name in ("n_cascades", "channels", "n_pools", "smaps_channels",
                     "smaps_pools"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (got {self}).")


PRESETS = {
    "cpu_small": VarNetConfig(),
    # fastMRI's VarNet(num_cascades=12, chans=18, pools=4, sens_chans=8,
    # sens_pools=4): the configuration of its published state dicts.
    "paper": VarNetConfig(n_cascades=12, channels=18, n_pools=4, smaps_channels=8,
                          smaps_pools=4),
}

# fastMRI's VarNet names -> this model's, before the U-Net's own names.
_FASTMRI_PREFIXES = (
    (r"^sens_net\.norm_unet\.unet\.", "smaps_net.norm_unet.unet."),
    (r"^cascades\.(\d+)\.model\.unet\.", r"cascades.\1.norm_unet.unet."),
)


class VarNet(nn.Module):
    """model(y, physics, n_iter=None) -> (B, H, W) real RSS image.

    y: (B, C, H, W) complex64 Cartesian k-space (zero where not sampled);
    physics: the slices' `Sense` operator, whose mask is used (its maps are
    not: the model estimates its own); n_iter: cascades to run.
    """

    def __init__(self, config: VarNetConfig = VarNetConfig()):
        super().__init__()
        self.config = config
        self.n_iter = config.n_cascades
        self.max_inference_iterations = config.n_cascades
        self.smaps_net = SmapsNet(config.smaps_channels, config.smaps_pools)
        self.cascades = nn.ModuleList(Cascade(config.channels, config.n_pools)
                                      for _ in range(config.n_cascades))

    @staticmethod
    def pretrained_key(key: str) -> str:
        """fastMRI's `VarNet` state-dict names as this model's
        (learned/pretrained.py); other names unchanged."""
        for pattern, replacement in _FASTMRI_PREFIXES:
            match = re.match(pattern, key)
            if match:
                prefix = match.expand(replacement)
                return prefix + fastmri_unet_key(key[match.end():])
        return key

    def forward(self, y, physics, n_iter=None):
        if not isinstance(physics, Sense):
            raise TypeError("E2E-VarNet updates Cartesian k-space: it needs a Sense "
                            f"operator (got {type(physics).__name__}).")
        n_iter = self.n_iter if n_iter is None else int(n_iter)
        if not 1 <= n_iter <= len(self.cascades):
            raise ValueError(
                f"E2E-VarNet has {len(self.cascades)} cascades, each with its own "
                f"weights: test_iterations must be between 1 and {len(self.cascades)} "
                f"(got {n_iter}).")
        if physics.mask.shape[-2] != 1:
            raise ValueError("E2E-VarNet takes column masks (B, 1, 1, W), as fastMRI's "
                             f"(got a mask of shape {tuple(physics.mask.shape)}).")
        mask = physics.mask.bool()
        smaps = self.smaps_net(y, mask)
        k = y
        for cascade in self.cascades[:n_iter]:
            k = cascade(k, y, mask, smaps)
        return rss(ifft2c(k), dim=1)

