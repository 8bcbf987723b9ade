"""Training and inference data for learned solvers: slices, batches, scaling.

A learned model sees one slice at a time. `Batch` groups B slices of one
acquisition (k-space shape, image and target shapes, trajectory); slices of
different acquisitions never share a batch. A model sees the data term
(physics, y) of `data.types.data_term`: on non-Cartesian data, by default the
density-compensated one of NC-PDNet.

Scale. fastMRI k-space values are ~1e-5..1e-3, the phantom's ~1: every slice
is divided by `slice_scale` (the maximum magnitude of its SENSE adjoint image,
i.e. of the coil-combined zero-filled image) before it reaches a model, and the
model's output is multiplied back (see `reconstruct`). Models are thereby
scale-free; losses are computed on the normalised scale (target / scale).
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace

import torch

from ..data import Measurement, center_crop
from ..data.smaps import estimate_smaps_acs
from ..data.types import data_term
from ..physics import LinearOperator, Sense

EPS = 1e-12


def with_acs_smaps(measurements: list[Measurement]) -> list[Measurement]:
    """The measurements with coil maps estimated from their own ACS block
    (data.smaps.estimate_smaps_acs) where the data are Cartesian.

    What a learned solver gets with smaps="acs" (learned/run.py), as XPDNet
    (Ramzi et al. 2020) and E2E-VarNet estimate their maps, on both splits,
    so that training and test maps are alike (the objective gives training
    volumes ACS maps, test volumes ESPIRiT maps by default). Why the maps'
    phase convention matters to a learned model: docs/coil-maps.md.
    """
    return [replace(m, smaps=estimate_smaps_acs(m.y, m.mask)) if m.is_cartesian
            else m for m in measurements]


@dataclass
class Batch:
    """B slices of equal shape, normalised (y / scale, target / scale).

    y: (B, C, H, W) complex64, or (B, C, K) samples for non-Cartesian data;
    physics: the operator of the data term (data.types.data_term), e.g. Sense
    with mask (B, 1, 1, W) and smaps (B, C, H, W); target: (B, h, w) float32
    magnitude, or None; scale: (B,) float32, what y and target were divided by.
    """

    y: torch.Tensor
    physics: LinearOperator
    target: torch.Tensor | None
    scale: torch.Tensor

    @property
    def target_size(self) -> tuple[int, int]:
        return tuple(self.target.shape[-2:])


def slice_scale(y: torch.Tensor, physics: LinearOperator) -> torch.Tensor:
    """(B,) float32: max |A^H y| per slice (clamped away from 0)."""
    image = physics.adjoint(y)  # (B, H, W)
    return image.abs().flatten(1).amax(dim=1).clamp_min(EPS)


def make_batch(y, mask, smaps, target=None, device="cpu") -> Batch:
    """Normalise one batch of Cartesian slices and move it to `device`.

    y, smaps: (B, C, H, W) complex64; mask (B, 1, 1, W); target (B, h, w) or None.
    """
    return batch_of(y, Sense(mask, smaps), target, device)


def batch_of(y, physics: LinearOperator, target=None, device="cpu",
             scale=None) -> Batch:
    """Normalise the data term (y, physics) of B slices and move it to `device`.

    y: (B, C, H, W) or, non-Cartesian, (B, C, K) complex64; physics: the
    operator y is measured by (see `data_term`); target: (B, h, w) or None;
    scale: (B,) to divide by, or None for slice_scale(y, physics).
    """
    y, physics = y.to(device), physics.to(device)
    scale = slice_scale(y, physics) if scale is None else scale.to(device)
    y = y / scale[:, None, None, None] if y.ndim == 4 else y / scale[:, None, None]
    if target is not None:
        target = target.to(device=device, dtype=torch.float32) / scale[:, None, None]
    return Batch(y=y, physics=physics, target=target, scale=scale)


@dataclass(frozen=True)
class SliceRef:
    """Slice `index` of measurement `volume` of a split."""

    volume: int
    index: int


def _acquisition(m: Measurement) -> tuple:
    """What slices must share to be batched: shapes, and the trajectory."""
    traj = "" if m.traj is None else hashlib.sha1(m.traj.tobytes()).hexdigest()
    return (*m.y.shape[1:], *m.image_shape, *m.target_size, traj)


def group_slices(measurements: list[Measurement]) -> list[list[SliceRef]]:
    """Slices grouped by acquisition (shapes and trajectory), in a fixed order."""
    groups = defaultdict(list)
    for v, m in enumerate(measurements):
        key = _acquisition(m)
        for s in range(m.y.shape[0]):
            groups[key].append(SliceRef(v, s))
    return [groups[k] for k in sorted(groups)]


def collate(measurements, refs: list[SliceRef], device="cpu",
            density_compensation: bool = True) -> Batch:
    """Stack the slices `refs` (all of one acquisition) into a normalised Batch."""
    def stack(field):
        return torch.stack([getattr(measurements[r.volume], field)[r.index]
                            for r in refs])

    first = measurements[refs[0].volume]
    has_target = all(measurements[r.volume].target is not None for r in refs)
    target = stack("target") if has_target else None
    mask = None if first.mask is None else stack("mask")
    return slices_batch(stack("y"), stack("smaps"), mask, first.traj, first.dcf,
                        density_compensation, target, device)


def slices_batch(y, smaps, mask, traj, dcf, density_compensation, target=None,
                 device="cpu") -> Batch:
    """The normalised Batch of B slices of one acquisition (fields as in
    Measurement). The scale is that of the image, max |A^H D y| with the
    density-compensated adjoint, also when the model's data term is the
    plain one: both variants then learn the same normalised targets."""
    physics, y_model = data_term(y, smaps, mask, traj, dcf, density_compensation)
    scale = None
    if traj is not None and not density_compensation:
        compensated, y_compensated = data_term(y, smaps, mask, traj, dcf)
        scale = slice_scale(y_compensated, compensated)
    return batch_of(y_model, physics, target, device, scale)


def training_batches(measurements, batch_size: int, generator: torch.Generator,
                     device="cpu", density_compensation: bool = True):
    """One epoch: every training slice once, in batches of equal shape.

    Slices are shuffled within their shape group, the batches of all groups
    shuffled together (the last batch of a group may be smaller).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size}).")
    chunks = []
    for group in group_slices(measurements):
        order = torch.randperm(len(group), generator=generator).tolist()
        group = [group[i] for i in order]
        chunks += [group[i:i + batch_size] for i in range(0, len(group), batch_size)]
    for i in torch.randperm(len(chunks), generator=generator).tolist():
        yield collate(measurements, chunks[i], device, density_compensation)


def magnitude(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """|x| centre-cropped to `size`: (B, H, W) complex -> (B, h, w) real; a
    real x (a model that outputs a magnitude image: VarNet's RSS, the U-Net)
    is cropped as it is."""
    return center_crop(x.abs() if x.is_complex() else x, size)


def model_keywords(model, target_size: tuple[int, int]) -> dict:
    """Keywords a model asks for beyond (y, physics, n_iter): `target_size`
    when it sets `takes_target_size = True` (fastMRI's U-Net crops its input
    image to the target's field of view before the network)."""
    return {"target_size": target_size} if getattr(model, "takes_target_size",
                                                   False) else {}


@torch.no_grad()
def reconstruct(model, m: Measurement, n_iter=None, batch_size: int = 8,
                device="cpu", density_compensation: bool = True,
                **options) -> torch.Tensor:
    """Reconstruct one volume: (S, h, w) float32 magnitude on the CPU.

    Slices go through `model(y / scale, physics, n_iter=n_iter, **options) *
    scale` in chunks of `batch_size` (physics, y: `data_term`); options: the
    model's inference-only keywords (e.g. the DEQ's `tol`).
    """
    out = []
    for start in range(0, m.y.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        batch = slices_batch(m.y[sl], m.smaps[sl],
                             None if m.mask is None else m.mask[sl], m.traj, m.dcf,
                             density_compensation, device=device)
        x = model(batch.y, batch.physics, n_iter=n_iter, **options,
                  **model_keywords(model, m.target_size))
        x = x * batch.scale[:, None, None]
        out.append(magnitude(x, m.target_size).float().cpu())
    return torch.cat(out)
