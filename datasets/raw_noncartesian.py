from pathlib import Path

from benchopt import BaseDataset
from benchopt.config import get_data_path

from benchmark_mri.data.noncartesian import ShotSampling
from benchmark_mri.data.raw_scans import find_scan_folder, how_to_point, load_scan


class Dataset(BaseDataset):
    """Raw multi-coil non-Cartesian scans (benchmark_mri/data/raw_scans.py):
    the real spiral phantom, every `acceleration`-th interleaf kept, scored
    against CG-SENSE from all 60; the real radial heart (25 spokes, acquired
    undersampled), reconstructed and shown, not scored. No training split.
    Folder: $BENCHMARK_MRI_RAW_DIR, data_paths: {noncartesian: ...}, or
    ../shared/data/noncartesian; skipped, saying how, when absent."""

    name = "raw_noncartesian"
    parameters = {
        "scan, acceleration": [("spiral_phantom_8ch_60il", 2),
                               ("radial_cardiac_12ch_25spokes", 1)],
        "n_coils": [4],  # SVD coil compression; None: all coils
    }
    test_parameters = {"scan, acceleration": [("spiral_phantom_8ch_60il", 4)],
                       "n_coils": [2]}

    def get_data(self):
        configured = get_data_path("noncartesian")
        here = Path(__file__).parents[1]
        folder = find_scan_folder(configured, here)
        if folder is None:
            shared = (here / ".." / "shared" / "data" / "noncartesian").resolve()
            return dict(unavailable=how_to_point(configured, shared))
        scan = load_scan(folder, self.scan, self.n_coils)
        return dict(train=[], test=[scan], sampling=ShotSampling(self.acceleration),
                    source=self.name)
