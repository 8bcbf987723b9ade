from benchopt import BaseSolver

from benchmark_mri.classical import WaveletL1Split
from benchmark_utils.stopping import SufficientProgressOrDiverged


class Solver(BaseSolver):
    """Wavelet-l1 compressed sensing on the SENSE model, ISTA or FISTA
    (benchmark_mri/classical/wavelet_l1.py). lmbda is relative to each
    slice's max |A^H y|; 1e-3 is the best PSNR on the phantom's training split
    (benchmarks/tune_wavelet_l1.py). Step 1/L, L from a bound on the maps or
    lipschitz="power" (sigpy's power iteration; always on non-Cartesian data,
    whose data term is density-weighted). One callback per iteration.

    Stopped on its own cost (1/2 ||A x - y||^2 + lambda ||W x||_1, reported
    as `cost`, relative to the cost of x = 0), never on the metrics against
    the target: a solver must not see the reference to know when to stop.
    Iterations that diverge stop at a recorded point with diverged = 1."""

    name = "ista_l1"
    sampling_strategy = "callback"
    stopping_criterion = SufficientProgressOrDiverged(
        eps=1e-6, patience=3, key_to_monitor="cost")
    parameters = {"lmbda": [1e-3], "accelerated": [True], "restart": [False],
                  "lipschitz": ["bound"]}

    def set_objective(self, test, train):
        self.algs = WaveletL1Split(test, self.lmbda, self.lipschitz,
                                   accelerated=self.accelerated, restart=self.restart)

    def run(self, callback):
        while callback() and self.algs.diverged is None:
            self.algs.step()

    def get_result(self):
        return self.algs.result()
