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

Training memory (`XPDNetConfig.training`; inference is the same for all):
- "end_to_end": backpropagation through every unrolled iteration, whose
  activations all stay alive until the backward pass;
- "checkpoint": gradient checkpointing of each unrolled iteration
  (torch.utils.checkpoint, use_reentrant=False): only the iterations' inputs
  are kept, each iteration's activations are recomputed in the backward
  pass; the same gradients, less memory, about one more forward pass of time;
- "greedy": GLEAM (Ozturkler et al., "GLEAM: Greedy Learning for Large-Scale
  Accelerated MRI Reconstruction", 2022): the iterations are split into
  `greedy_modules` groups of consecutive iterations (as equal as possible,
  the first ones one longer); each module gets its own loss on its output
  (buffer[0]) against the target, and starts from the previous module's
  primal buffer detached, so no gradient crosses a module boundary; every
  module is updated at every step (`greedy_step`, which backpropagates each
  module's loss before the next module runs: activation memory is one
  module's). The refined maps (refine_smaps) are computed once; modules
  after the first see them detached (the refiner learns from the first
  module's loss). A model with shared weights cannot be split.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..physics import Sense
from .complex import from_channels, pad_to_multiple, to_channels
from .data import magnitude
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
    denoiser for every iteration (the paper: False); training: how training
    keeps memory, one of TRAINING ("end_to_end", "checkpoint", "greedy",
    see the module doc; a model field, not a TrainSettings one, because only
    an unrolled model with one block per iteration can be split, and its
    config checks that); greedy_modules: GLEAM's number of modules M,
    1 <= M <= n_iter, used with training="greedy" only (ignored otherwise).
    All are in the checkpoint key; none changes inference.
    """

    n_iter: int = 3
    n_primal: int = 5
    mwcnn: str = "tiny"
    refine_smaps: bool = False
    refiner_widths: tuple[int, ...] = (4, 8, 16)
    shared_weights: bool = False
    training: str = "end_to_end"
    greedy_modules: int = 2

    def __post_init__(self):
        mwcnn_config(self.mwcnn)  # fail early on an unknown size
        if self.n_iter < 1 or self.n_primal < 1:
            raise ValueError(f"n_iter and n_primal must be >= 1 (got {self}).")
        if self.training not in TRAINING:
            raise ValueError(f"xpdnet: unknown training={self.training!r}: use one "
                             f"of {list(TRAINING)}.")
        if self.training == "greedy":
            if self.shared_weights:
                raise ValueError(
                    "xpdnet: training='greedy' needs modules with their own "
                    "weights: shared_weights=True has one block for every "
                    "iteration (use 'checkpoint' or 'end_to_end').")
            if not (isinstance(self.greedy_modules, int)
                    and 1 <= self.greedy_modules <= self.n_iter):
                raise ValueError(
                    f"xpdnet: greedy_modules={self.greedy_modules!r} must be an "
                    f"integer from 1 to n_iter={self.n_iter} (each module holds "
                    "at least one unrolled iteration).")


TRAINING = ("end_to_end", "checkpoint", "greedy")


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
        if self.config.training == "greedy" and self.training \
                and torch.is_grad_enabled():
            raise RuntimeError("xpdnet: training='greedy' trains with one loss per "
                               "module: use step_fn=greedy_step "
                               "(benchmark_mri.learned.xpdnet).")
        n_iter = self.n_iter if n_iter is None else n_iter
        physics = self._refined(physics)
        buffer = self._start(y, physics)
        use_checkpoint = (self.config.training == "checkpoint" and self.training
                          and torch.is_grad_enabled())
        for i in range(n_iter):
            if use_checkpoint:
                buffer = checkpoint(self._iteration, i, buffer, y, physics,
                                    use_reentrant=False)
            else:
                buffer = self._iteration(i, buffer, y, physics)
        return buffer[:, 0]

    def _refined(self, physics):
        if self.refiner is None:
            return physics
        if not isinstance(physics, Sense):
            raise TypeError("XPDNet's map refinement needs a Sense operator.")
        return Sense(physics.mask, self.refiner(physics.smaps))

    def _start(self, y, physics):
        x = physics.adjoint(y)  # (B, H, W)
        return x[:, None].expand(-1, self.config.n_primal, -1, -1)  # (B, P, H, W)

    def _iteration(self, i, buffer, y, physics):
        """Unrolled iteration i: (B, P, H, W) buffer -> (B, P, H, W)."""
        residual = physics.adjoint(physics(buffer[:, 0]) - y)  # (B, H, W)
        block = self.blocks[min(i, len(self.blocks) - 1)]
        return buffer + block(torch.cat([buffer, residual[:, None]], dim=1))

    def module_ranges(self) -> list[range]:
        """GLEAM's modules: config.greedy_modules ranges of consecutive
        iterations covering range(n_iter), the first ones one longer."""
        n, m = self.n_iter, self.config.greedy_modules
        sizes = [n // m + (k < n % m) for k in range(m)]
        starts = [sum(sizes[:k]) for k in range(m)]
        return [range(s, s + size) for s, size in zip(starts, sizes)]

    def module_outputs(self, y, physics):
        """Yields (x_m (B, H, W) complex64, is_last) for each GLEAM module m
        (module doc); module m + 1 starts from module m's buffer detached, and
        runs only when the caller asks for the next output (so the caller can
        backpropagate x_m's loss, freeing its graph, first)."""
        refined = self._refined(physics)
        buffer = self._start(y, refined)
        ranges = self.module_ranges()
        for m, iterations in enumerate(ranges):
            if m > 0:
                buffer = buffer.detach()
                if refined is not physics:
                    refined = Sense(refined.mask, refined.smaps.detach())
            for i in iterations:
                buffer = self._iteration(i, buffer, y, refined)
            yield buffer[:, 0], m == len(ranges) - 1


def greedy_step(model: XPDNet, batch, loss_fn) -> torch.Tensor:
    """GLEAM's training step (step_fn of training.train_step): each module's
    loss on its own output against the target; the loss of every module but
    the last is backpropagated here, before the next module runs (its graph
    freed: activation memory is one module's), the last one's is returned
    for train_step to backpropagate, so one optimizer step updates every
    module, each with the gradient of its own loss only. The value returned
    is the last module's loss (the network's output: comparable to
    end-to-end training's loss, and what the divergence checks see). A
    non-finite module loss is returned at once (train_step then stops,
    without an update)."""
    for x, last in model.module_outputs(batch.y, batch.physics):
        loss = loss_fn(magnitude(x, batch.target_size), batch.target)
        if last or not torch.isfinite(loss):
            return loss
        loss.backward()
