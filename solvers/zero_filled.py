from benchopt import BaseSolver

from benchmark_mri.classical import zero_filled


class Solver(BaseSolver):
    """Zero-filled baseline: RSS of the inverse FFT of the undersampled data."""

    name = "zero_filled"
    sampling_strategy = "run_once"
    reads_coil_maps = False  # never reads m.smaps (what `benchmark-mri plan` counts)
    parameters = {}

    def set_objective(self, test, train):
        self.test = test  # the test split: a Measurement per volume, no target

    def run(self, _):
        self.recon = self.test.map(zero_filled)  # one chunk of slices at a time

    def get_result(self):
        return dict(recon=self.recon)  # a (slices, h, w) magnitude volume each
