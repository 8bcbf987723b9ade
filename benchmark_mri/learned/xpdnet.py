"""XPDNet: an unrolled primal(-dual) network with an MWCNN image denoiser.

Ramzi, Starck, Moreau, Ciuciu, "XPDNet for MRI Reconstruction: an
Application to the 2020 fastMRI Challenge" (arXiv:2010.07290), extending
Adler & Öktem's learned primal-dual. In its multi-coil form (what the paper
submitted): the dual step is the measurement residual A x - y (no k-space
network); a buffer of `n_primal` images is updated in image space, at every
unrolled iteration i, by
    buffer <- buffer + D_i([buffer, A^H (A buffer[0] - y)]),
D_i an MWCNN on real channels (its own weights per iteration); the output
is buffer[0]. The SENSE maps come from the autocalibration region and are
refined by a small per-coil U-Net (`smaps_refiner.py`).

Test-time iterations: n_iter < n_iter trained uses the first n_iter blocks;
n_iter > trained repeats the last block for the extra iterations (with
`shared_weights=True` every iteration uses the same block).
"""

from dataclasses import dataclass

import torch
from torch import nn

from ..physics import Sense
from .complex import from_channels, pad_to_multiple, to_channels
from .mwcnn import MWCNN, mwcnn_config
from .smaps_refiner import SmapsRefiner


@dataclass(frozen=True)
class XPDNetConfig:
    """XPDNet's defaults: the CPU-small size (trains in minutes on the phantom;
    map refinement off there, as it costs about as much as the unrolled
    network on a CPU; the "leaderboard" preset is the published size).

    n_iter: unrolled iterations; n_primal: primal buffer size (5 in the paper);
    mwcnn: MWCNN size ("tiny", "small", "medium", "big", see mwcnn.MWCNN_SIZES);
    refine_smaps: refine the ACS maps with a per-coil U-Net;
    refiner_widths: that U-Net's filters per scale; shared_weights: one
    denoiser for every iteration (the paper: False).
    """

    n_iter: int = 3
    n_primal: int = 5
    mwcnn: str = "tiny"
    refine_smaps: bool = False
    refiner_widths: tuple[int, ...] = (4, 8, 16)
    shared_weights: bool = False

    def __post_init__(self):
        mwcnn_config(self.mwcnn)  # fail early on an unknown size
        if self.n_iter < 1 or self.n_primal < 1:
            raise ValueError(f"n_iter and n_primal must be >= 1 (got {self}).")


PRESETS = {
    "cpu_small": XPDNetConfig(),
    # The fastMRI 2020 leaderboard submission: 25 iterations, medium MWCNN,
    # refined maps.
    "leaderboard": XPDNetConfig(n_iter=25, mwcnn="medium", refine_smaps=True),
}


class ImageCorrection(nn.Module):
    """One image-space update: complex (B, P + 1, H, W) -> (B, P, H, W)."""

    def __init__(self, n_primal: int, size: str):
        super().__init__()
        config = mwcnn_config(size)
        self.multiple = 2**config.n_scales
        self.net = MWCNN(2 * (n_primal + 1), 2 * n_primal, config)
        # The update starts at zero, so that the untrained network returns
        # the SENSE adjoint image (short CPU trainings start from there).
        last = [m for m in self.net.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)

    def forward(self, x):
        r, crop = pad_to_multiple(to_channels(x), self.multiple)  # (B, 2P + 2, H', W')
        return from_channels(crop(self.net(r)))


class XPDNet(nn.Module):
    """model(y, physics, n_iter=None) -> x; see the module doc.

    y: (B, C, H, W) complex64 k-space; physics: `Sense` (its mask and maps are
    used, the maps refined when config.refine_smaps); x: (B, H, W) complex64.
    """

    def __init__(self, config: XPDNetConfig = XPDNetConfig()):
        super().__init__()
        self.config = config
        self.n_iter = config.n_iter
        n_blocks = 1 if config.shared_weights else config.n_iter
        self.blocks = nn.ModuleList(ImageCorrection(config.n_primal, config.mwcnn)
                                    for _ in range(n_blocks))
        self.refiner = (SmapsRefiner(config.refiner_widths)
                        if config.refine_smaps else None)

    def forward(self, y, physics, n_iter=None):
        n_iter = self.n_iter if n_iter is None else n_iter
        if self.refiner is not None:
            if not isinstance(physics, Sense):
                raise TypeError("XPDNet's map refinement needs a Sense operator.")
            physics = Sense(physics.mask, self.refiner(physics.smaps))
        x = physics.adjoint(y)  # (B, H, W)
        buffer = x[:, None].expand(-1, self.config.n_primal, -1, -1)  # (B, P, H, W)
        for i in range(n_iter):
            residual = physics.adjoint(physics(buffer[:, 0]) - y)  # (B, H, W)
            block = self.blocks[min(i, len(self.blocks) - 1)]
            buffer = buffer + block(torch.cat([buffer, residual[:, None]], dim=1))
        return buffer[:, 0]
