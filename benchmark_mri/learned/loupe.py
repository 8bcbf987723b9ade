"""LOUPE: a Cartesian sampling density learned jointly with a reconstruction
network (Bahadir, Wang, Dalca, Sabuncu, "Deep-learning-based optimization of
the under-sampling pattern in MRI", IEEE TCI 2020; IPMI 2019).

The model (`LoupeModel`, config `LoupeConfig`) holds one logit per k-space
column for each training width W, and the benchmark's U-Net or XPDNet. In
training (`loupe_step`), on fully sampled training slices (`FullySampled`):

- probabilities p = sigmoid(pmask_slope * logit) of the columns outside the
  dataset's ACS block (those are always sampled), rescaled to the budget as
  LOUPE's RescaleProbMap does: with alpha the fraction of those columns the
  budget leaves (ceil(W / R) minus the ACS columns, over the others) and
  p_bar their mean, p * alpha / p_bar when p_bar >= alpha, else
  1 - (1 - p) (1 - alpha) / (1 - p_bar), so that the expected count is the
  budget;
- a relaxed mask per slice, sigmoid(sample_slope * (p - u)) with u uniform
  (LOUPE's ThresholdRandomMask), 1 on the ACS columns;
- the fully sampled k-space times that mask, normalised by its zero-filled
  maximum as every test slice is (data.slices_batch), through the network
  with the SENSE operator of that mask and ACS maps; the loss in the
  batch's units, so the Trainer's divergence bound applies.

At test time the mask is deterministic: the ACS columns and the most
probable others up to the budget (`LoupeModel.mask_columns`), proposed to
the objective, which re-measures the test split with it (data/acquisition.py).
Defaults follow LOUPE's code (pmask_slope 5, sample_slope 12, logits
initialised so that p is uniform on (0.01, 0.99)). Deviations: 1D columns
(the paper's Cartesian variant) rather than a 2D density; the networks are
the benchmark's, with coil maps; ACS columns fixed, as fastMRI's masks have
them. The logits of columns a file never acquired (zero padding) learn
nothing and may be chosen; the phantom and the real slices have none.
"""

import hashlib
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..data.coil_maps import CoilMaps
from ..data.smaps import estimate_smaps
from ..data.split import MeasuredSource, Split, fingerprint_measurements
from ..physics import Sense
from ..physics.masks import acs_block
from .data import Batch, magnitude, model_keywords, slice_scale
from .unet import UNetConfig
from .xpdnet import XPDNetConfig

NETWORKS = ("unet", "xpdnet")


@dataclass(frozen=True)
class LoupeConfig:
    """LOUPE's defaults (module doc).

    network: the reconstruction network's config (learned.model_config of
        "unet" or "xpdnet"); acceleration R and center_fraction: the
        dataset's budget (ceil(W / R) columns, the ACS block of fastMRI's
        masks); widths: the k-space widths W a mask is learned for (those of
        the training split); pmask_slope, sample_slope: LOUPE's slopes of the
        probability and of the relaxed sampling; logit_lr_factor: how many
        times faster than the network's the logits learn (they are stored
        divided by it, and Adam's steps do not depend on a gradient's scale:
        LOUPE trains 1e4 to 1e5 steps, a CPU run hundreds; 100 was chosen on
        a validation split of the phantom's training volumes, 1 being LOUPE's
        own rate, docs/sampling.md).
    """

    network: object = field(default_factory=UNetConfig)
    acceleration: float = 4
    center_fraction: float = 0.08
    widths: tuple[int, ...] = (128,)
    pmask_slope: float = 5.0
    sample_slope: float = 12.0
    logit_lr_factor: float = 100.0

    def __post_init__(self):
        if not isinstance(self.network, UNetConfig | XPDNetConfig):
            raise ValueError(f"loupe: network takes a U-Net or XPDNet config (one "
                             f"of {NETWORKS}); got {type(self.network).__name__}.")
        if not self.logit_lr_factor > 0:
            raise ValueError(f"loupe: logit_lr_factor must be > 0 (got "
                             f"{self.logit_lr_factor}).")
        if not self.acceleration > 1 or not 0 < self.center_fraction < 1:
            raise ValueError(f"loupe: acceleration > 1 and 0 < center_fraction < 1 "
                             f"(got {self.acceleration}, {self.center_fraction}).")
        for w in self.widths:
            self.budget(w)  # a width the budget cannot fit is refused now

    def acs(self, width: int) -> tuple[int, int]:
        """[start, stop) of the ACS block (the dataset masks' own, acs_block)."""
        return acs_block(width, self.center_fraction)

    def budget(self, width: int) -> int:
        """Columns the mask samples besides the ACS block: ceil(W / R) - n_acs."""
        start, stop = self.acs(width)
        extra = math.ceil(width / self.acceleration) - (stop - start)
        if stop - start < 1 or extra < 0:
            raise ValueError(f"loupe: a {width}-column k-space at acceleration "
                             f"{self.acceleration:g} leaves no budget beyond its "
                             f"{stop - start} ACS columns.")
        return extra


PRESETS = {"cpu_small": LoupeConfig()}


class LoupeModel(nn.Module):
    """Sampling logits per width and a reconstruction network (module doc).

    As a reconstruction model, model(y, physics) is the network's: y measured
    with the mask `mask_columns` gives (B, H, W) (complex for XPDNet, the
    magnitude for the U-Net).
    """

    def __init__(self, config: LoupeConfig = LoupeConfig()):
        super().__init__()
        from .models import build_model  # models registers this module

        self.config = config
        self.network = build_model(config.network)
        # The relaxed masks' draws: a generator seeded from torch's global one,
        # which lifecycle.Training seeds while it builds the model, so that a
        # training does not depend on what the process ran before.
        self.generator = torch.Generator().manual_seed(
            int(torch.randint(2**62, (1,))))
        # Stored divided by logit_lr_factor (the config's doc): `logit(width)`.
        self.logits = nn.ParameterDict({
            str(w): nn.Parameter(_uniform_logits(w, config.pmask_slope)
                                 / config.logit_lr_factor)
            for w in config.widths})

    @property
    def takes_target_size(self) -> bool:
        return getattr(self.network, "takes_target_size", False)

    @property
    def max_inference_iterations(self):
        return getattr(self.network, "max_inference_iterations", None)

    @property
    def n_iter(self):
        return self.network.n_iter  # AttributeError for the U-Net: none

    def forward(self, y, physics, n_iter=None, **keywords):
        return self.network(y, physics, n_iter=n_iter, **keywords)

    def logit(self, width: int) -> torch.Tensor:
        """(W,) the sampling logits of a width."""
        if str(width) not in self.logits:
            raise ValueError(f"loupe learned masks of widths {self.config.widths}; "
                             f"a {width}-column k-space has none.")
        return self.config.logit_lr_factor * self.logits[str(width)]

    def probabilities(self, width: int) -> torch.Tensor:
        """(W,) sampling probabilities rescaled to the budget, 1 on the ACS."""
        logit = self.logit(width)
        start, stop = self.config.acs(width)
        p = torch.sigmoid(self.config.pmask_slope * logit)
        outer = torch.cat([p[:start], p[stop:]])
        alpha = self.config.budget(width) / max(outer.numel(), 1)
        mean = outer.mean()
        if float(mean.detach()) >= alpha:  # LOUPE's branch: not differentiated
            scaled = outer * alpha / mean
        else:
            scaled = 1 - (1 - outer) * (1 - alpha) / (1 - mean)
        ones = torch.ones(stop - start, dtype=p.dtype, device=p.device)
        return torch.cat([scaled[:start], ones, scaled[start:]])

    def relaxed_mask(self, width: int, n: int) -> torch.Tensor:
        """(n, 1, 1, W) float: one relaxed mask per slice, 1 on the ACS."""
        p = self.probabilities(width)
        u = torch.rand(n, width, generator=self.generator).to(p.device, p.dtype)
        mask = torch.sigmoid(self.config.sample_slope * (p - u))
        start, stop = self.config.acs(width)
        acs = torch.zeros(width, dtype=torch.bool, device=p.device)
        acs[start:stop] = True
        return torch.where(acs, torch.ones_like(mask), mask)[:, None, None, :]

    @torch.no_grad()
    def mask_columns(self, width: int) -> torch.Tensor:
        """(W,) bool: the ACS block and the budget's most probable others."""
        start, stop = self.config.acs(width)
        p = self.probabilities(width).clone()
        p[start:stop] = float("inf")
        chosen = torch.topk(p, stop - start + self.config.budget(width)).indices
        mask = torch.zeros(width, dtype=torch.bool)
        mask[chosen.cpu()] = True
        return mask


def _uniform_logits(width: int, slope: float, eps: float = 0.01) -> torch.Tensor:
    """Logits whose sigmoid(slope * logit) is uniform on (eps, 1 - eps)
    (LOUPE's initialisation: probabilities, not logits, uniform)."""
    u = eps + (1 - 2 * eps) * torch.rand(width)
    return torch.log(u / (1 - u)) / slope


def loupe_step(model: LoupeModel, batch: Batch, loss_fn) -> torch.Tensor:
    """One LOUPE training step's loss (training.train_step's step_fn): batch
    of fully sampled slices (FullySampled), measured with relaxed masks."""
    y_full = batch.y  # (B, C, H, W), normalised by the fully sampled image
    mask = model.relaxed_mask(y_full.shape[-1], y_full.shape[0]).to(y_full.device)
    y = y_full * mask
    physics = Sense(mask, batch.physics.smaps)
    scale = slice_scale(y, physics).detach()  # (B,): as a test slice is scaled
    x = model(y / scale[:, None, None, None], physics,
              **model_keywords(model, batch.target_size))
    return loss_fn(magnitude(x, batch.target_size) * scale[:, None, None],
                   batch.target)


class FullySampled(Split):
    """A training split read fully sampled, for a model that measures its
    training slices itself: `training_slice` gives the fully sampled k-space
    (C, H, W), an all-ones mask, ACS maps from the dataset's ACS columns only
    (as maps of a test slice are estimated) and the target."""

    def __init__(self, split: Split):
        if isinstance(split.source, MeasuredSource):
            raise ValueError("These measurements were made elsewhere: no fully "
                             "sampled volume to read (give the dataset's volumes: "
                             "data.split.make_split).")
        super().__init__(split.source, split.sampling, True, CoilMaps("acs"))

    def training_slice(self, i, s, draw=None):
        if draw is not None:
            raise ValueError("A fully sampled training split draws no masks "
                             "(train_masks='fixed').")
        volume = self.fully_sampled(i, s)
        width = volume.kspace.shape[-1]
        start, stop = self.sampling.acs_columns(width)
        acs = torch.zeros(1, 1, 1, width, dtype=torch.bool)
        acs[..., start:stop] = True
        smaps = estimate_smaps(volume.kspace * acs, acs, "acs")
        return dict(y=volume.kspace[0], smaps=smaps[0],
                    mask=torch.ones(1, 1, width, dtype=torch.bool),
                    target=volume.target[0], traj=None, dcf=None)

    def with_smaps(self, method):
        return self  # ACS maps, estimated as training_slice says

    def fingerprint(self) -> str:
        """SHA-256 (hex, 16 chars) of the fully sampled slices (their
        content in memory, the files' selections otherwise) and the ACS
        block's centre fraction."""
        digest = hashlib.sha256(f"fully sampled, centre fraction "
                                f"{self.sampling.center_fraction}".encode())
        for i in range(len(self)):
            if self.source.in_memory:
                volume = self.source.read(i)
                digest.update(fingerprint_measurements(
                    [_as_measurement(volume)]).encode())
            else:
                digest.update(repr(self.source.selection_key(i)).encode())
        return digest.hexdigest()[:16]


def _as_measurement(volume):
    from ..data.types import Measurement

    return Measurement(name=volume.name, y=volume.kspace, mask=None, smaps=None,
                       target_size=tuple(volume.target.shape[-2:]),
                       target=volume.target)


def network_sha256(model: LoupeModel) -> str:
    """The sha256 of the network's weights: what fine-tuning starts from (in
    its checkpoint key, as TrainSettings.init_sha256)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1)
                      .view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def widths(split: Split) -> tuple[int, ...]:
    """The k-space widths W of a split's volumes, sorted."""
    return tuple(sorted({split.source.kspace_shape(i)[-1] for i in range(len(split))}))


def skip_reason(solver, test, train) -> tuple[bool, str | None]:
    """benchopt's skip() of the loupe solver beyond a learned solver's:
    (True, why) when the test split cannot take a proposed mask or has a
    width the training split has none of; a bad `network` is an error."""
    if solver.network not in NETWORKS:
        raise ValueError(f"loupe: network={solver.network!r} is not a "
                         f"reconstruction network of loupe: use one of {NETWORKS}.")
    if getattr(test, "budget", None) is None:
        return True, ("loupe proposes its mask to the objective: it needs the "
                      "test split the objective hands (test.remeasure), with a "
                      "Cartesian budget.")
    if solver.train_masks != "fixed":
        return True, ("loupe measures its training slices with its own masks: "
                      "train_masks='fixed' only.")
    given = ", ".join(f"{name}={getattr(solver, name)!r}"
                      for name in ("train_acceleration", "train_mask_type")
                      if getattr(solver, name, None) is not None)
    if given:
        raise ValueError(f"loupe: {given} does not apply: loupe learns its own mask at "
                         "the dataset's budget (its acceleration); leave "
                         "train_acceleration and train_mask_type at None.")
    missing = sorted(set(widths(test)) - set(widths(train)))
    if missing:
        return True, (f"loupe learns one mask per k-space width of the training "
                      f"split {widths(train)}; the test split also has widths "
                      f"{tuple(missing)}.")
    return False, None
