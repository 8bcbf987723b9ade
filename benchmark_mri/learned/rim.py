"""Recurrent inference machine (RIM) for multi-coil MRI.

Putzky & Welling, "Recurrent Inference Machines for Solving Inverse
Problems" (2017); Lønning et al., "Recurrent inference machines for
reconstructing heterogeneous MRI data", Medical Image Analysis 2019. At each
time step t the network receives the current complex estimate x_t and the
gradient of the data log-likelihood, A^H (A x_t - y) (SENSE operator with
the problem's coil maps), and outputs an update:
    e = ReLU(conv5x5([x_t, grad]))            embedding
    h1 = ConvGRU_d1(e, h1); h2 = ConvGRU_d2(h1, h2)   hidden states carried
    x_{t+1} = x_t + conv1x1(h2)                across steps
with the same weights at every step. Training averages the loss over all
steps' outputs (`rim_step`). Test-time steps: any n_iter (weights shared).

Training memory (`RIMConfig.training`): "end_to_end" (backpropagation
through time) or "checkpoint" (each time step checkpointed with
torch.utils.checkpoint, use_reentrant=False: the same gradients, only the
steps' inputs x_t, h1, h2 kept, each step recomputed in the backward pass).
Weight sharing does not prevent checkpointing, but it does prevent GLEAM's
greedy training: a module trained on its own loss needs its own weights, and
every RIM step uses the same ones.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .complex import from_channels, to_channels
from .data import magnitude


class ConvGRUCell(nn.Module):
    """Convolutional GRU: (input (B, n_in, H, W), hidden (B, n_hidden, H, W)
    or None) -> new hidden (B, n_hidden, H, W). 3x3 convs with `dilation`."""

    def __init__(self, n_in: int, n_hidden: int, dilation: int = 1):
        super().__init__()
        self.n_hidden = n_hidden
        conv = dict(kernel_size=3, padding=dilation, dilation=dilation)
        self.gates = nn.Conv2d(n_in + n_hidden, 2 * n_hidden, **conv)  # update, reset
        self.candidate = nn.Conv2d(n_in + n_hidden, n_hidden, **conv)

    def forward(self, x, h=None):
        if h is None:
            h = x.new_zeros(x.shape[0], self.n_hidden, *x.shape[-2:])
        z, r = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).chunk(2, dim=1)
        candidate = torch.tanh(self.candidate(torch.cat([x, r * h], dim=1)))
        return (1 - z) * h + z * candidate


@dataclass(frozen=True)
class RIMConfig:
    """RIM defaults: the CPU-small size. n_steps: time steps (8 in the paper);
    hidden_channels: width of the embedding and GRU states (64 in the paper);
    training: "end_to_end" or "checkpoint" (module doc; in the checkpoint
    key, inference unchanged)."""

    n_steps: int = 4
    hidden_channels: int = 16
    training: str = "end_to_end"

    def __post_init__(self):
        if self.n_steps < 1 or self.hidden_channels < 1:
            raise ValueError(f"n_steps and hidden_channels must be >= 1 (got {self}).")
        if self.training == "greedy":
            raise ValueError(GREEDY_UNSUPPORTED)
        if self.training not in TRAINING:
            raise ValueError(f"rim: unknown training={self.training!r}: use one of "
                             f"{list(TRAINING)}.")


TRAINING = ("end_to_end", "checkpoint")
GREEDY_UNSUPPORTED = ("rim: training='greedy' needs modules with their own weights: "
                      "the RIM shares its weights across time steps (use "
                      "training='checkpoint' to save memory).")


PRESETS = {
    "cpu_small": RIMConfig(),
    "paper": RIMConfig(n_steps=8, hidden_channels=64),
}


class RIM(nn.Module):
    """model(y, physics, n_iter=None) -> x (B, H, W) complex64; `trajectory`
    gives every step's estimate. y: (B, C, H, W) complex64; physics: SENSE."""

    def __init__(self, config: RIMConfig = RIMConfig()):
        super().__init__()
        self.config = config
        self.n_iter = config.n_steps
        width = config.hidden_channels
        self.embed = nn.Sequential(nn.Conv2d(4, width, 5, padding=2), nn.ReLU())
        self.gru1 = ConvGRUCell(width, width, dilation=1)
        self.gru2 = ConvGRUCell(width, width, dilation=2)
        self.out = nn.Conv2d(width, 2, 1)
        # The first update is zero: the untrained RIM returns A^H y.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def trajectory(self, y, physics, n_iter=None) -> list[torch.Tensor]:
        """[x_1, ..., x_T], each (B, H, W) complex64, T = n_iter or n_steps."""
        x = physics.adjoint(y)  # (B, H, W)
        h1 = h2 = None
        estimates = []
        use_checkpoint = (self.config.training == "checkpoint" and self.training
                          and torch.is_grad_enabled())
        for _ in range(self.n_iter if n_iter is None else n_iter):
            if use_checkpoint:
                x, h1, h2 = checkpoint(self._step, x, h1, h2, y, physics,
                                       use_reentrant=False)
            else:
                x, h1, h2 = self._step(x, h1, h2, y, physics)
            estimates.append(x)
        return estimates

    def _step(self, x, h1, h2, y, physics):
        """One time step: (x_t (B, H, W), h1, h2) -> (x_{t+1}, h1, h2)."""
        grad = physics.adjoint(physics(x) - y)  # (B, H, W)
        features = self.embed(to_channels(torch.stack([x, grad], dim=1)))
        h1 = self.gru1(features, h1)
        h2 = self.gru2(h1, h2)
        return x + from_channels(self.out(h2))[:, 0], h1, h2

    def forward(self, y, physics, n_iter=None):
        return self.trajectory(y, physics, n_iter)[-1]


def rim_step(model: RIM, batch, loss_fn) -> torch.Tensor:
    """Training step function: the loss averaged over every step's output."""
    estimates = model.trajectory(batch.y, batch.physics)
    losses = [loss_fn(magnitude(x, batch.target_size), batch.target)
              for x in estimates]
    return torch.stack(losses).mean()
