"""Training losses on magnitude images (B, h, w), float32.

- "l1": mean absolute error;
- "l2": mean squared error (the layer-wise CNN's loss);
- "ssim": 1 - SSIM, fastMRI's torch SSIMLoss formula (fastmri/losses.py):
  7x7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance (NP / (NP - 1)),
  valid-region average; data_range = the target slice's maximum;
- "ssim_l1": 0.84 (1 - SSIM) + 0.16 L1 (the mix of Zhao et al., "Loss Functions
  for Image Restoration with Neural Networks", 2017).
"""

import torch
import torch.nn.functional as F

SSIM_L1_ALPHA = 0.84


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.mean(torch.abs(pred - target))


def l2_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.mean((pred - target) ** 2)


def ssim(pred, target, win_size: int = 7, k1: float = 0.01, k2: float = 0.03):
    """Mean SSIM over the valid region of each slice, then over the batch.

    pred, target: (B, h, w) real; data_range = target.amax per slice.
    """
    x, y = pred[:, None].float(), target[:, None].float()  # (B, 1, h, w)
    data_range = target.flatten(1).amax(dim=1)[:, None, None, None]
    window = torch.ones(1, 1, win_size, win_size, device=x.device) / win_size**2
    n_points = win_size**2
    cov_norm = n_points / (n_points - 1)
    ux, uy = F.conv2d(x, window), F.conv2d(y, window)
    uxx, uyy = F.conv2d(x * x, window), F.conv2d(y * y, window)
    uxy = F.conv2d(x * y, window)
    vx, vy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.mean()


def ssim_loss(pred, target):
    return 1 - ssim(pred, target)


def ssim_l1_loss(pred, target):
    return SSIM_L1_ALPHA * ssim_loss(pred, target) + (1 - SSIM_L1_ALPHA) * l1_loss(
        pred, target
    )


LOSSES = {"l1": l1_loss, "l2": l2_loss, "ssim": ssim_loss, "ssim_l1": ssim_l1_loss}


def get_loss(name: str):
    """The loss function called `name` (one of LOSSES)."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}: use one of {sorted(LOSSES)}.")
    return LOSSES[name]
