"""Synthetic multi-coil brain-like volumes that need no download.

Each volume is a random 3D object (a bright rim, tissue, 8-16 inner
ellipsoids, a smooth multiplicative texture and a smooth phase) cut into
slices, seen through birdcage-like coil sensitivities, with complex Gaussian
noise. To avoid the "inverse crime", k-space is simulated on a grid twice as
fine as the reconstruction grid and truncated to its centre: the data were
not made by the operator that solvers invert (edges ring, as in real scans).
The target is the RSS of the fully sampled noisy coil images, as in fastMRI.
Non-Cartesian samples are likewise taken from the fine grid, by a NUFFT on it
(`FineGridSimulation`), not interpolated from the reconstruction grid.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..physics import CoilNufft, fft2c, ifft2c, rss
from ..physics.masks import slice_seed
from .types import Volume

MAX_COILS = 32
MIN_SIZE, MAX_SIZE = 16, 1024
OVERSAMPLING = 2  # simulation grid / reconstruction grid


def check_phantom_parameters(image_size: int, n_coils: int, n_slices: int):
    """Raise ValueError naming the bad parameter."""
    if not (isinstance(image_size, int) and MIN_SIZE <= image_size <= MAX_SIZE):
        raise ValueError(
            f"image_size must be an integer in [{MIN_SIZE}, {MAX_SIZE}] "
            f"(got {image_size!r})."
        )
    if image_size % 2:
        raise ValueError(
            f"image_size must be even so that k-space has a centre sample at "
            f"N // 2 (got {image_size})."
        )
    if not (isinstance(n_coils, int) and 1 <= n_coils <= MAX_COILS):
        raise ValueError(
            f"n_coils must be an integer in [1, {MAX_COILS}] (got {n_coils!r})."
        )
    if not (isinstance(n_slices, int) and n_slices >= 1):
        raise ValueError(f"n_slices must be a positive integer (got {n_slices!r}).")


def phantom_memory_bytes(n_volumes: int, image_size: int, n_coils: int,
                         n_slices: int, keep_simulation: bool = False) -> int:
    """A lower bound of the memory a run on `n_volumes` phantom volumes
    needs, in bytes: per volume its k-space, the measured k-space and the
    coil maps (3 complex64 (S, C, N, N) arrays; 4 more with the fine-grid
    simulation), plus the generation of one volume (3 complex64 copies of
    its k-space on the OVERSAMPLING-times finer grid)."""
    grid = n_slices * n_coils * image_size**2 * 8
    held = (3 + 4 * keep_simulation) * grid
    return n_volumes * held + 3 * OVERSAMPLING**2 * grid


def available_memory_bytes() -> int | None:
    """The memory available to new allocations (Linux's MemAvailable), or
    None where it is not known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_phantom_memory(n_volumes: int, image_size: int, n_coils: int,
                         n_slices: int, keep_simulation: bool = False,
                         available: int | None = None):
    """Raise MemoryError, before anything is generated, when the phantoms
    cannot fit in the available memory (phantom_memory_bytes), saying what
    they would need. available: bytes (default: available_memory_bytes())."""
    available = available_memory_bytes() if available is None else available
    need = phantom_memory_bytes(n_volumes, image_size, n_coils, n_slices,
                                keep_simulation)
    if available is not None and need > available:
        raise MemoryError(
            f"phantom: {n_volumes} volumes of image_size={image_size}, "
            f"n_coils={n_coils}, n_slices={n_slices} need at least "
            f"{need / 1e9:.1f} GB of memory (the k-space, measurement and coil "
            "maps of every volume, and a 2x finer simulation grid while one is "
            f"generated); {available / 1e9:.1f} GB are available. Use fewer "
            "slices, coils or volumes, or a smaller image_size.")


def _grid(n: int):
    """Pixel centres of an n x n grid in [-1, 1): (u along W, v along H)."""
    t = (np.arange(n) - n // 2) / (n // 2)
    v, u = np.meshgrid(t, t, indexing="ij")
    return u, v


def birdcage_smaps(n_coils: int, n: int, radius: float = 2.0) -> np.ndarray:
    """(C, n, n) complex64 sensitivities of coils evenly spaced on a circle.

    Magnitude falls off as 1 / distance to the coil and the phase turns with
    the coil's angle; maps are scaled so that their RSS peaks at 1. One coil
    is a uniform body coil.
    """
    if n_coils == 1:
        return np.ones((1, n, n), dtype=np.complex64)
    u, v = _grid(n)
    maps = []
    for c in range(n_coils):
        angle = 2 * np.pi * c / n_coils
        du, dv = u - radius * np.cos(angle), v - radius * np.sin(angle)
        dist = np.hypot(du, dv)
        maps.append(np.exp(1j * (np.arctan2(dv, du) - angle)) / dist)
    maps = np.stack(maps)
    return (maps / np.sqrt((np.abs(maps) ** 2).sum(0)).max()).astype(np.complex64)


def _ellipse(u, v, z, centre, axes, angle):
    """Inside-mask of a z-cut of a rotated ellipsoid."""
    cu, cv, cz = centre
    a, b, c = axes
    scale = 1 - ((z - cz) / c) ** 2
    if scale <= 0:
        return np.zeros_like(u, dtype=bool)
    cos, sin = np.cos(angle), np.sin(angle)
    du, dv = u - cu, v - cv
    ru, rv = cos * du + sin * dv, -sin * du + cos * dv
    return (ru / a) ** 2 + (rv / b) ** 2 <= scale


def random_object(rng: np.random.Generator, n: int, z_positions) -> np.ndarray:
    """(S, n, n) complex128 slices of one random brain-like 3D object."""
    u, v = _grid(n)
    a, b = rng.uniform(0.62, 0.8), rng.uniform(0.72, 0.88)
    centre = (rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04), 0.0)
    tilt = rng.uniform(-0.2, 0.2)
    rim = dict(centre=centre, axes=(1.07 * a, 1.06 * b, 2.0), angle=tilt)
    brain = dict(centre=centre, axes=(a, b, 1.9), angle=tilt)
    inner = []
    for _ in range(rng.integers(8, 17)):
        r, t = np.sqrt(rng.uniform(0, 0.5)), rng.uniform(0, 2 * np.pi)
        inner.append(
            dict(
                centre=(centre[0] + a * r * np.cos(t), centre[1] + b * r * np.sin(t),
                        rng.uniform(-0.5, 0.5)),
                axes=(rng.uniform(0.04, 0.3), rng.uniform(0.04, 0.3),
                      rng.uniform(0.2, 1.0)),
                angle=rng.uniform(0, np.pi),
                intensity=rng.uniform(0.05, 1.0),
            )
        )
    # Smooth texture and phase: a few random low-frequency 3D cosines.
    freqs = rng.uniform(-4, 4, size=(6, 3)) * np.pi
    phases = rng.uniform(0, 2 * np.pi, size=6)
    phase_coef = rng.uniform(-0.6, 0.6, size=3)
    phase_offset = rng.uniform(-np.pi, np.pi)
    tissue_level = rng.uniform(0.25, 0.35)

    slices = []
    for z in z_positions:
        img = 0.9 * _ellipse(u, v, z, **rim).astype(float)
        tissue = _ellipse(u, v, z, **brain)
        img[tissue] = tissue_level
        for e in inner:
            inside = _ellipse(u, v, z, e["centre"], e["axes"], e["angle"]) & tissue
            img[inside] = e["intensity"]
        texture = sum(
            np.cos(f[0] * u + f[1] * v + f[2] * z + p) for f, p in zip(freqs, phases)
        )
        img = img * (1 + 0.05 * texture)
        phase = phase_offset + phase_coef[0] * u + phase_coef[1] * v
        phase = phase + phase_coef[2] * (u**2 + v**2)
        slices.append(img * np.exp(1j * phase))
    return np.stack(slices)


@dataclass(frozen=True, eq=False)
class FineGridSimulation:
    """Off-grid samples of a phantom volume from its simulation grid.

    coils: (S, C, kN, kN) complex64 noise-free coil images on the grid
    `oversampling` = k times finer than the reconstruction grid (same field
    of view); sigma: the volume's complex noise standard deviation.
    """

    coils: torch.Tensor
    oversampling: int
    sigma: float

    def sample(self, name: str, traj) -> torch.Tensor:
        """(S, C, K) complex64 samples at `traj` (K, 2), radians of the
        reconstruction grid, with fresh noise seeded by (name, slice).

        A frequency of w radians per reconstruction pixel is w / k radians
        per fine pixel; dividing by k gives the scale of the truncated
        Cartesian k-space (the orthonormal transforms of the two grids).
        """
        k = self.oversampling
        fine = tuple(self.coils.shape[-2:])
        y = CoilNufft(np.asarray(traj) / k, fine)(self.coils) / k
        noise = torch.stack([
            torch.from_numpy(np.random.default_rng(slice_seed(f"{name}:offgrid", s))
                             .standard_normal((2, *y.shape[1:])).astype(np.float32))
            for s in range(y.shape[0])])  # (S, 2, C, K)
        return y + self.sigma / np.sqrt(2) * torch.complex(noise[:, 0], noise[:, 1])


def simulate_volume(
    name: str,
    rng: np.random.Generator,
    image_size: int = 128,
    n_coils: int = 8,
    n_slices: int = 4,
    noise: float = 0.01,
    keep_simulation: bool = False,
) -> Volume:
    """One phantom volume: k-space (S, C, N, N) complex64, target (S, N, N).

    noise: standard deviation of the complex k-space noise relative to the
    peak of the noiseless RSS image (the orthonormal FFT keeps it the same in
    image space). keep_simulation: attach the fine-grid coil images
    (FineGridSimulation, 4x the k-space's memory) for non-Cartesian sampling.
    """
    check_phantom_parameters(image_size, n_coils, n_slices)
    if not (isinstance(noise, (int, float)) and 0 <= noise < float("inf")):
        raise ValueError(f"noise must be a finite number >= 0, the noise standard "
                         f"deviation relative to the image's peak (got {noise!r}).")
    fine = OVERSAMPLING * image_size
    z = np.linspace(-0.4, 0.4, n_slices) if n_slices > 1 else np.zeros(1)
    obj = torch.from_numpy(random_object(rng, fine, z).astype(np.complex64))
    smaps = torch.from_numpy(birdcage_smaps(n_coils, fine))
    kspace_fine = fft2c(smaps[None] * obj[:, None])  # (S, C, 2N, 2N)
    lo = (fine - image_size) // 2
    # Truncating k-space keeps the field of view; 1 / OVERSAMPLING keeps the
    # image intensities of the orthonormal FFT.
    kspace = kspace_fine[..., lo : lo + image_size, lo : lo + image_size]
    kspace = kspace / OVERSAMPLING
    sigma = noise * float(rss(ifft2c(kspace)).max())
    noise_draw = rng.standard_normal((2, *kspace.shape)).astype(np.float32)
    kspace = kspace + sigma / np.sqrt(2) * torch.complex(
        torch.from_numpy(noise_draw[0]), torch.from_numpy(noise_draw[1])
    )
    kspace = kspace.to(torch.complex64).contiguous()
    simulation = None
    if keep_simulation:
        coils = ifft2c(kspace_fine).to(torch.complex64).contiguous()
        simulation = FineGridSimulation(coils, OVERSAMPLING, sigma)
    return Volume(name=name, kspace=kspace, target=rss(ifft2c(kspace)),
                  simulation=simulation)


def phantom_volumes(
    split: str, n_volumes: int, seed: int, **kwargs
) -> list[Volume]:
    """`n_volumes` independent phantom volumes named f"phantom_{split}_{i:03d}".

    Each volume's random draw depends only on (seed, split, index), so the
    train and test splits never share an object and a volume is the same
    whatever the size of its split.
    """
    split_id = {"train": 0, "val": 1, "test": 2}[split]
    if not (isinstance(n_volumes, int) and n_volumes >= 0):
        raise ValueError(f"n_{split}_volumes must be an integer >= 0 (got "
                         f"{n_volumes!r}).")
    return [
        simulate_volume(
            f"phantom_{split}_{i:03d}",
            np.random.default_rng([seed, split_id, i]),
            **kwargs,
        )
        for i in range(n_volumes)
    ]
