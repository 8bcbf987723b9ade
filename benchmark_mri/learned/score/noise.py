"""The likelihood's noise level, estimated from the outer k-space.

The Gaussian likelihood p(y | x) = N(A x, sigma_y^2 I) per real component
(real and imaginary parts of every k-space sample independent, each of
standard deviation sigma_y; a complex sample's E|n|^2 is 2 sigma_y^2).

`estimate_sigma_y(y, mask)`: thermal noise is white in k-space, the signal of
an image concentrates near the centre. The estimate takes the sampled
k-space values in the outer `border` fraction of both axes (the four
corners: sampled columns far from the centre, and their rows far from the
centre), of every coil, and the median of their magnitudes: for pure complex
Gaussian noise |n| is Rayleigh distributed with scale sigma_y, whose median
is sigma_y sqrt(2 ln 2). The median makes the estimate robust to the few
corner samples that still hold signal (edges of the object); what signal is
left biases it upwards (a broader likelihood: an under-confident posterior,
never an over-fitting one). Measured on the phantom (docs/score-posterior.md).
"""

import math

import torch

BORDER = 0.0625  # the outer sixteenth of k-space on each side of each axis
RAYLEIGH_MEDIAN = math.sqrt(2 * math.log(2))


def corner_samples(y: torch.Tensor, mask: torch.Tensor,
                   border: float = BORDER) -> list[torch.Tensor]:
    """Per slice, the 1-D tensor of sampled corner values of every coil.

    y: (B, C, H, W) complex centred k-space; mask: (B, 1, 1, W) (columns).
    Corner: rows and columns whose distance to the centre is at least
    (1/2 - border) of the axis length. A slice that samples no corner column
    (a mask with no outer columns) uses its outer rows of all sampled columns.
    """
    if not 0 < border <= 0.5:
        raise ValueError(f"border must be in (0, 0.5] (got {border!r}).")
    B, C, H, W = y.shape
    rows = (torch.arange(H, device=y.device) - H // 2).abs() >= (0.5 - border) * H
    cols = (torch.arange(W, device=y.device) - W // 2).abs() >= (0.5 - border) * W
    sampled = mask.reshape(B, -1).to(torch.bool)  # (B, W)
    out = []
    for b in range(B):
        use = sampled[b] & cols
        if not use.any():
            use = sampled[b]
        out.append(y[b][:, rows][:, :, use].reshape(-1))
    return out


def estimate_sigma_y(y: torch.Tensor, mask: torch.Tensor,
                     border: float = BORDER) -> torch.Tensor:
    """(B,) float32: the noise standard deviation of each real component of
    the k-space samples of each slice (module doc), in the units of y.

    y: (B, C, H, W) complex64 centred k-space (zero where not sampled);
    mask: (B, 1, 1, W) sampled columns.
    """
    values = corner_samples(y, mask, border)
    sigma = torch.stack([v.abs().median() for v in values]) / RAYLEIGH_MEDIAN
    return sigma.to(torch.float32)
