"""Layer-wise trained CNN: a deep network built one two-layer block at a time.

Ozturkler, Sahiner, Ergen, Desai, Vasanawala, Pauly, Mardani, Pilanci,
"Scalable and Interpretable Neural MRI Reconstruction via Layer-Wise
Training" (ISMRM 2022), after Belilovsky et al.'s greedy layer-wise learning
(ICML 2019). The input is the two-channel SENSE zero-filled image
x_0 = A^H y (the maps the learned solvers get, ACS by default).

How this module reads the paper's description (our interpretation):
- block b (b = 1..B) is a two-layer network on the features of the blocks
  below it, h_0 = [Re x_0, Im x_0] (2 channels):
      h_b = ReLU(conv_kxk(h_{b-1}))            (width channels)
      x_b = x_0 + from_channels(conv_1x1(h_b))  (a complex image)
  the 1x1 convolution is the block's last layer (its "head"); the skip
  connection adds the network's input image x_0, so a block learns the
  correction to the zero-filled image (and an untrained block, its head
  zero-initialised, returns x_0, as the other learned models do);
- layer-wise training: block b is trained alone, to fit the target with an
  l2 loss on |x_b| (TrainSettings.loss, "l2" by default in the solver), on
  top of blocks 1..b-1 frozen (run without autograd: the activation memory of
  a step is one block's, whatever the depth); then its head is removed (no
  longer used) and block b + 1 is trained on h_b; `epochs_per_block` epochs
  per block, B x epochs_per_block in all. The network after training is
  blocks 1..B's k x k convolutions and the last block's head;
- end_to_end=True: the same network (blocks 1..B, the last head) trained
  jointly for the same number of epochs, for the comparison.

Not built: the convex formulation of each block (the gated-ReLU convex
program of Pilanci and Ergen, which the paper solves globally); each block
here is trained by the shared optimizer (Adam) on the non-convex two-layer
problem.

Test-time iterations: n_iter = k < B reconstructs with blocks 1..k and the
head of block k (trained layer-wise, every head is a reconstruction; with
end_to_end=True only the last head is trained).
"""

from dataclasses import dataclass

import torch
from torch import nn

from .complex import from_channels, to_channels


@dataclass(frozen=True)
class LayerwiseConfig:
    """Layer-wise CNN defaults (CPU-small). n_blocks: two-layer blocks (the
    network's depth in k x k convolutions); width: channels of every block;
    kernel_size: k; epochs_per_block: training epochs of each block (layer-wise
    training); end_to_end: train all blocks jointly instead (all in the
    checkpoint key)."""

    n_blocks: int = 4
    width: int = 32
    kernel_size: int = 3
    epochs_per_block: int = 2
    end_to_end: bool = False

    def __post_init__(self):
        for name in ("n_blocks", "width", "kernel_size", "epochs_per_block"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"layerwise: {name} must be an integer >= 1 "
                                 f"(got {value!r}).")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"layerwise: kernel_size must be odd (got "
                             f"{self.kernel_size}), so that images keep their size.")

    @property
    def n_epochs(self) -> int:
        """Epochs of a whole training: n_blocks x epochs_per_block."""
        return self.n_blocks * self.epochs_per_block


PRESETS = {"cpu_small": LayerwiseConfig()}


class LayerwiseCNN(nn.Module):
    """model(y, physics, n_iter=None) -> x (B, H, W) complex64; module doc.

    y: (B, C, H, W) complex64 k-space; physics: its data term (SENSE). The
    block being trained is the persistent buffer `stage` (0-based; saved in
    the state dict), set by the Trainer's `start_epoch` hook.
    """

    def __init__(self, config: LayerwiseConfig = LayerwiseConfig()):
        super().__init__()
        self.config = config
        self.n_iter = self.max_inference_iterations = config.n_blocks
        k, width = config.kernel_size, config.width
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 if b == 0 else width, width, k, padding=k // 2),
                          nn.ReLU())
            for b in range(config.n_blocks))
        self.heads = nn.ModuleList(nn.Conv2d(width, 2, 1)
                                   for _ in range(config.n_blocks))
        for head in self.heads:  # every block starts as the identity on x_0
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        start = config.n_blocks - 1 if config.end_to_end else 0
        self.register_buffer("stage", torch.tensor(start))

    def start_epoch(self, epoch: int):
        """Trainer hook: before epoch `epoch` (0-based), train block
        epoch // epochs_per_block (the last one past the planned epochs)."""
        if not self.config.end_to_end:
            block = min(epoch // self.config.epochs_per_block, self.n_iter - 1)
            self.stage.fill_(block)

    def forward(self, y, physics, n_iter=None):
        depth = int(self.stage) + 1 if n_iter is None else n_iter
        if not 1 <= depth <= self.n_iter:
            raise ValueError(f"layerwise: n_iter={n_iter} is out of range: the "
                             f"network has 1 to {self.n_iter} blocks.")
        x0 = physics.adjoint(y)  # (B, H, W)
        h = to_channels(x0[:, None])  # (B, 2, H, W)
        frozen = 0 if self.config.end_to_end or not self.training else depth - 1
        with torch.no_grad():  # the blocks trained before: frozen, no graph
            for block in self.blocks[:frozen]:
                h = block(h)
        for block in self.blocks[frozen:depth]:
            h = block(h)
        return x0 + from_channels(self.heads[depth - 1](h))[:, 0]
