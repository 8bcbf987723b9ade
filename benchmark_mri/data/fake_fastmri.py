"""Synthetic fastMRI-layout HDF5 files, written the way fastMRI's are: tiny
ones for the tests, knee-sized ones (640 x 368, 15 coils, 35 slices) for
benchmarks/scale.py.

Each volume: a random brain-like object seen by birdcage coils; k-space
(S, C, H, W) complex64 (or (S, H, W) for singlecoil) with zero padding
columns outside [padding_left, padding_right), a 2x oversampled readout
(H = 2 x recon rows, as fastMRI's 640 for 320), the reference
`reconstruction_rss` / `reconstruction_esc` = RSS of the coil images
centre-cropped to the recon size, an ISMRMRD header whose encoding limits give
that padding, and fastMRI's attributes.
"""

from pathlib import Path

import h5py
import numpy as np
import torch

from benchmark_mri.data.phantom import birdcage_smaps, random_object
from benchmark_mri.data.transforms import center_crop
from benchmark_mri.physics import fft2c, ifft2c, rss

HEADER = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <encoding>
    <encodedSpace>
      <matrixSize><x>{enc_x}</x><y>{enc_y}</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>280</x><y>140</y><z>4.5</z></fieldOfView_mm>
    </encodedSpace>
    <reconSpace>
      <matrixSize><x>{rec_x}</x><y>{rec_y}</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>140</x><y>140</y><z>3</z></fieldOfView_mm>
    </reconSpace>
    <trajectory>cartesian</trajectory>
    <encodingLimits>
      <kspace_encoding_step_1>
        <minimum>0</minimum><maximum>{maximum}</maximum><center>{center}</center>
      </kspace_encoding_step_1>
      <kspace_encoding_step_2>
        <minimum>0</minimum><maximum>0</maximum><center>0</center>
      </kspace_encoding_step_2>
      <slice><minimum>0</minimum><maximum>0</maximum><center>0</center></slice>
    </encodingLimits>
  </encoding>
</ismrmrdHeader>
"""


def header(enc, recon, padding):
    """ISMRMRD XML with encoded size enc = (x, y), recon size, and the encoding
    limits that give acquired columns padding = (left, right) as fastMRI
    computes them: left = y // 2 - center, right = left + maximum + 1."""
    left, right = padding
    center = enc[1] // 2 - left
    return HEADER.format(enc_x=enc[0], enc_y=enc[1], rec_x=recon[0], rec_y=recon[1],
                         center=center, maximum=right - left - 1)


def write_volume(
    path: Path,
    seed: int,
    n_slices: int = 3,
    n_coils: int = 4,
    size: tuple[int, int] = (64, 48),
    recon: tuple[int, int] = (32, 32),
    padding: tuple[int, int] | None = (4, 46),
    singlecoil: bool = False,
    acquisition: str = "CORPD_FBK",
    with_target: bool = True,
) -> Path:
    """Write one fake fastMRI file; returns its path."""
    H, W = size
    padding = (0, W) if padding is None else padding
    rng = np.random.default_rng(seed)
    n = max(H, W)
    obj = random_object(rng, n, np.linspace(-0.3, 0.3, n_slices))
    obj = center_crop(torch.from_numpy(obj.astype(np.complex64)), (H, W))
    maps = center_crop(torch.from_numpy(birdcage_smaps(n_coils, n)), (H, W))
    kspace = fft2c(maps[None] * obj[:, None])  # (S, C, H, W)
    noise = rng.standard_normal((2, *kspace.shape)).astype(np.float32) * 1e-3
    kspace = kspace + torch.complex(torch.from_numpy(noise[0]),
                                    torch.from_numpy(noise[1]))
    kspace[..., : padding[0]] = 0
    kspace[..., padding[1] :] = 0
    target = center_crop(rss(ifft2c(kspace)), recon).numpy()
    if singlecoil:
        kspace = kspace[:, 0]
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=kspace.numpy().astype(np.complex64))
        if with_target:
            key = "reconstruction_esc" if singlecoil else "reconstruction_rss"
            f.create_dataset(key, data=target.astype(np.float32))
        f.create_dataset("ismrmrd_header", data=header(size, recon, padding))
        f.attrs["acquisition"] = acquisition
        f.attrs["max"] = float(target.max())
        f.attrs["norm"] = float(np.linalg.norm(target))
        f.attrs["patient_id"] = f"fake{seed:04d}"
    return path


def make_tree(root: Path) -> Path:
    """A fake fastMRI root: knee multicoil / singlecoil train and val, brain
    multicoil train and val, several volumes and acquisitions each."""
    seed = 0
    for split, n in (("train", 2), ("val", 3)):
        for i in range(n):
            seed += 1
            acq = ("CORPD_FBK", "CORPDFS_FBK")[i % 2]
            write_volume(root / "knee" / f"multicoil_{split}" / f"file10{seed:02d}.h5",
                         seed, acquisition=acq)
            write_volume(root / "knee" / f"singlecoil_{split}" / f"file10{seed:02d}.h5",
                         seed, singlecoil=True, acquisition=acq)
            # Brain: no readout oversampling, wider images, equal recon size.
            write_volume(root / "brain" / f"multicoil_{split}" / f"file20{seed:02d}.h5",
                         seed, size=(40, 40), recon=(40, 40), padding=(2, 38),
                         n_coils=6, acquisition=("AXT2", "AXFLAIR")[i % 2])
    return root
