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

import multiprocessing
import os
from collections import defaultdict
from dataclasses import dataclass

import torch

from ..allocator import worker_init
from ..data import Measurement, center_crop
from ..data.split import as_split
from ..data.types import data_term
from ..physics import LinearOperator, Sense

EPS = 1e-12


def with_acs_smaps(measurements):
    """The measurements (a Split or a list) with coil maps estimated from
    their own ACS block (data.smaps.estimate_smaps_acs) where the data are
    Cartesian: what a learned solver gets with smaps="acs" (learned/run.py),
    as XPDNet (Ramzi et al. 2020) and E2E-VarNet estimate their maps, on both
    splits, so that training and test maps are alike (the objective gives
    training volumes ACS maps, test volumes ESPIRiT maps by default). Why the
    maps' phase convention matters to a learned model: docs/coil-maps.md.
    A lazy split stays lazy (its maps are estimated when a volume is read)."""
    return as_split(measurements).with_smaps("acs")


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


def group_slices(split) -> list[list[SliceRef]]:
    """Slices grouped by acquisition (shapes and trajectory, Split.acquisition),
    in a fixed order; split: a data.split.Split or a list of Measurement."""
    split = as_split(split)
    groups = defaultdict(list)
    for v in range(len(split)):
        key = split.acquisition(v)
        for s in range(split.n_slices(v)):
            groups[key].append(SliceRef(v, s))
    return [groups[k] for k in sorted(groups)]


TRAIN_MASKS = ("fixed", "random")


class TrainingSlices(torch.utils.data.Dataset):
    """The slices of a training split, each read and measured when asked
    (in a DataLoader worker): item (volume, slice, epoch) -> the slice's
    fields (data.split.Split.training_slice). train_masks "fixed": every
    epoch sees the slice's own mask; "random": a fresh mask per slice and
    epoch, drawn from (seed, epoch, volume, slice), as fastMRI trains."""

    def __init__(self, split, train_masks: str = "fixed", seed: int = 0):
        if train_masks not in TRAIN_MASKS:
            raise ValueError(f"train_masks={train_masks!r}: use one of {TRAIN_MASKS}.")
        self.split, self.train_masks, self.seed = split, train_masks, seed

    def __len__(self):
        return self.split.n_slices_total

    def __getitem__(self, item):
        volume, index, epoch = item
        draw = (None if self.train_masks == "fixed"
                else f"train-seed{self.seed}-epoch{epoch}")
        return self.split.training_slice(volume, index, draw)


class EpochBatches(torch.utils.data.Sampler):
    """The batches of successive epochs, as lists of (volume, slice, epoch).

    Each epoch visits every slice once: slices are shuffled within their
    acquisition group (`group_slices`), cut into batches of batch_size (the
    last of a group may be smaller), and the batches of all groups shuffled
    together, from `generator` (in the main process: the order does not
    depend on the number of workers).
    """

    def __init__(self, split, batch_size: int, generator: torch.Generator):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size}).")
        self.groups = group_slices(split)
        self.batch_size, self.generator, self.epoch = batch_size, generator, 0

    def __len__(self):
        return sum(-(-len(g) // self.batch_size) for g in self.groups)

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        chunks = []
        for group in self.groups:
            order = torch.randperm(len(group), generator=self.generator).tolist()
            group = [group[i] for i in order]
            chunks += [group[i:i + self.batch_size]
                       for i in range(0, len(group), self.batch_size)]
        for i in torch.randperm(len(chunks), generator=self.generator).tolist():
            yield [(r.volume, r.index, epoch) for r in chunks[i]]


def stack_slices(items: list[dict]) -> dict:
    """The DataLoader's collate: slice fields stacked into (B, ...) tensors;
    traj / dcf (shared by the batch's acquisition) from the first slice."""
    first = items[0]

    def stack(field):
        if first[field] is None:
            return None
        return torch.stack([item[field] for item in items])

    has_target = all(item["target"] is not None for item in items)
    return dict(y=stack("y"), smaps=stack("smaps"), mask=stack("mask"),
                target=stack("target") if has_target else None,
                traj=first["traj"], dcf=first["dcf"])


def loader_workers(split) -> int:
    """DataLoader worker processes: $BENCHMARK_MRI_LOADER_WORKERS if set;
    else none for a split in memory or in a parallel worker, and for one
    read from disk one per spare CPU core (at most 4), so that reading
    overlaps training."""
    value = os.environ.get("BENCHMARK_MRI_LOADER_WORKERS")
    if value is not None:
        if not value.strip().isdigit():
            raise ValueError(
                f"BENCHMARK_MRI_LOADER_WORKERS={value!r} is not a number of worker "
                "processes (an integer >= 0; 0 reads in the training process): "
                "set it to one, or unset it for the default.")
        return int(value)
    if split.in_memory or _in_a_worker():
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _in_a_worker() -> bool:
    """Whether this process is itself a parallel worker (benchopt -j's loky
    workers, Dask's): its tasks already share the cores, and a loky or
    daemonic process cannot start DataLoader workers."""
    process = multiprocessing.current_process()
    return process.daemon or process.name != "MainProcess"


def training_loader(split, batch_size: int, generator: torch.Generator,
                    train_masks: str = "fixed", seed: int = 0, workers=None,
                    pin_memory: bool = False) -> torch.utils.data.DataLoader:
    """The DataLoader of a training split: one pass per epoch (EpochBatches),
    slices read and measured in `workers` processes (loader_workers() by
    default), collated by stack_slices; pin_memory when training on a GPU.
    Memory: O(batch_size x prefetched batches), not O(split); each worker
    returns freed slices to the system (allocator.worker_init)."""
    split = as_split(split)
    workers = loader_workers(split) if workers is None else workers
    return torch.utils.data.DataLoader(
        TrainingSlices(split, train_masks, seed),
        batch_sampler=EpochBatches(split, batch_size, generator),
        collate_fn=stack_slices, num_workers=workers, pin_memory=pin_memory,
        worker_init_fn=worker_init)  # bounded memory: see benchmark_mri/allocator.py


def loaded_batch(raw: dict, device="cpu", density_compensation: bool = True) -> Batch:
    """The normalised Batch of a stack_slices dict, on `device`."""
    return slices_batch(raw["y"], raw["smaps"], raw["mask"], raw["traj"],
                        raw["dcf"], density_compensation, raw["target"], device)


def collate(measurements, refs: list[SliceRef], device="cpu",
            density_compensation: bool = True) -> Batch:
    """Stack the slices `refs` (all of one acquisition) into a normalised Batch."""
    split = as_split(measurements)
    raw = stack_slices([split.training_slice(r.volume, r.index) for r in refs])
    return loaded_batch(raw, device, density_compensation)


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
    """One epoch of normalised Batches, read in this process (EpochBatches)."""
    for raw in training_loader(measurements, batch_size, generator, workers=0):
        yield loaded_batch(raw, device, density_compensation)


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
