from pathlib import Path

import numpy as np
import torch
from benchopt import BaseObjective

from benchmark_mri.data.acquisition import Acquisition
from benchmark_mri.data.maps_cache import MapsCache, default_cache_dir
from benchmark_mri.data.split import Subset, make_split
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.results import (
    MAX_VOLUMES,
    OBJECTIVE_NAME,
    TRAINED_UNDER,
    final_results,
    is_diverged,
    setting_columns,
)
from benchmark_mri.threads import use_thread_budget
from benchmark_mri.version import code_version
from benchmark_utils import run_guard

# Result files of concurrent runs never collide, and a run stopped after some
# solvers finished says how to write their results (benchmark_utils/run_guard.py).
run_guard.install()


class Objective(BaseObjective):
    """Undersampled MRI reconstruction, scored with fastMRI's metrics.

    Datasets give fully sampled `train` / `test` volumes (or references to
    them in files) and a `sampling`; this objective undersamples them (the
    same masks for every solver) and hands solvers the test measurements
    without their targets, and the training measurements with theirs, as
    `Split`s (benchmark_mri/data/split.py: read lazily from fastMRI files,
    one volume at a time). Reported: PSNR, SSIM, NMSE per volume
    (see benchmark_mri/metrics.py), mean and std over the test volumes
    that have a reference (`n_scored`); `value` is the NMSE (lower is
    better). Volumes without a reference (raw scans acquired undersampled)
    are reconstructed and shown in the report, not scored: with none
    scored, every metric and `value` are NaN. Solvers must not stop on
    `value` (it peeks at the reference): iterative ones monitor their own
    cost (solvers/ista_l1.py), learned ones train a fixed budget. A point a
    solver flags as diverged (benchmark_mri.results.DIVERGED_FLAGS) is a
    result, never a score: its metrics are NaN, its images too. Every row
    says under what it was tested and, for a learned solver, trained
    (source, acceleration, mask type: benchmark_mri.results.TESTED_UNDER,
    TRAINED_UNDER); `source` is the dataset's name, `train_source` that of
    the training split when another source gives it (datasets/transfer.py).

    The test split solvers get is sealed (benchmark_mri/data/acquisition.py):
    read undersampled, without references. A solver may propose its own
    Cartesian mask within the dataset's budget through
    `test.remeasure(ProposedMask(...))`: the objective re-measures
    the test volumes with it. Every row records `sampled_fraction` and
    `solver_mask` (0: the dataset's masks, 1: the solver's).
    """

    name = OBJECTIVE_NAME
    min_benchopt_version = "1.10"
    requirements = []
    # Coil-map estimator of the test volumes, run when a solver first reads
    # a measurement's maps: "espirit" (the field's default for SENSE-based
    # solvers) or "acs" (low-resolution ACS). Training volumes always get ACS
    # maps: their only users, the learned solvers, take maps from the ACS
    # (learned.data.with_acs_smaps), and ESPIRiT on a whole training split
    # would cost hours on fastMRI.
    parameters = {"smaps": ["espirit"]}
    test_dataset_name = "phantom"

    def skip(self, unavailable=None, **data):
        # Datasets whose files are not on this machine return
        # dict(unavailable=reason): benchopt skips them and prints the reason.
        if unavailable is not None:
            return True, unavailable
        return False, None

    def set_data(self, train, test, sampling, source=None, train_source=None):
        # Both splits are Splits over their source (benchmark_mri/data/split.py):
        # fastMRI files are read when a solver reaches them, the phantom is
        # measured now, in memory. No coil map is computed here: a test
        # measurement's maps are computed (ESPIRiT maps of files: read from
        # the disk cache, or computed once into it) when a solver first
        # reads them; a solver that uses none or its own never pays for them.
        # This process's torch and BLAS use its share of the cores.
        if not test:
            raise ValueError("The dataset has no test volume.")
        self.n_threads = use_thread_budget()
        cache = MapsCache(default_cache_dir(Path(__file__).parent))
        self.test = make_split(test, sampling, False, self.smaps, cache, log=print)
        self.train = make_split(train, sampling, True, "acs")
        self.targets = self.test.targets()
        self.sources = (source, train_source or source)
        # What solvers get of the test split, and the re-measurement they may ask.
        self.acquisition = Acquisition(self.test, sampling)

    def get_objective(self):
        self.acquisition.reset()  # each solver starts with the dataset's masks
        return dict(test=self.acquisition.split(), train=self.train)

    def evaluate_result(self, recon, posterior_std=None, **solver_metrics):
        recon = _unless_diverged(recon, solver_metrics)
        scored = [i for i in range(len(self.targets)) if self.targets.available(i)]
        # Targets are read one volume at a time (a lazy sequence).
        scores = evaluate_volumes(Subset(self.targets, scored),
                                  [recon[i] for i in scored])
        result = {"n_scored": len(scored), "n_slices": self.test.n_slices_total,
                  "n_threads": self.n_threads}
        for name, values in scores.items():
            with np.errstate(invalid="ignore"):  # NaN volumes: NaN, no warning
                result[name] = float(np.mean(values)) if scored else float("nan")
                result[f"{name}_std"] = (float(np.std(values)) if scored
                                         else float("nan"))
        # Solvers may report their own measurements (memory, inference time...);
        # text records (a weights file's sha256) go to save_final_results.
        # A posterior sampler (solvers/score_posterior.py) also returns the
        # per-pixel posterior standard deviation: scored against the error.
        if posterior_std is not None:
            from benchmark_mri.metrics import uncertainty_metrics
            result.update(uncertainty_metrics(
                Subset(self.targets, scored), [recon[i] for i in scored],
                [_unless_diverged(posterior_std, solver_metrics)[i] for i in scored]))
        result.update({k: float(v) for k, v in solver_metrics.items()
                       if not isinstance(v, str) and v is not None})
        result.update(setting_columns(self.test.setting, *self.sources,
                                      solver_metrics))
        result.update(self.acquisition.record())  # the mask the recon was measured with
        result["value"] = result["nmse"]
        return result

    def save_final_results(self, recon, posterior_std=None, **solver_metrics):
        # For the report's gallery (benchmark_mri/results.py): central
        # slices of the final reconstructions, with their targets, and the
        # run's provenance; benchopt stores them in the result file.
        # Only the volumes the gallery shows: their targets are read, not all.
        records = {k: v for k, v in solver_metrics.items()
                   if isinstance(v, str) and k not in TRAINED_UNDER}
        n = min(len(self.test), MAX_VOLUMES)
        std = ({} if posterior_std is None else
               {"std": _unless_diverged(posterior_std, solver_metrics)[:n]})
        return final_results(self.test.names[:n], Subset(self.targets, range(n)),
                             _unless_diverged(recon, solver_metrics)[:n],
                             Path(__file__).parent, records,
                             masks=self.acquisition.gallery_masks(n),
                             mask_name=self.acquisition.mask_name(), **std)

    def get_one_result(self):
        # The zero image; its `cost` relative to itself is 1 (the cost that
        # iterative solvers report and stop on, e.g. solvers/ista_l1.py).
        return dict(recon=[torch.zeros(self.test.n_slices(i), *self.test.target_size(i))
                           for i in range(len(self.test))], cost=1.0)

    # The cache key of a benchopt run is built from this state: adding the
    # fingerprint of benchmark_mri/ and benchmark_utils/ makes an edit of
    # either invalidate cached results, which benchopt alone would not notice.
    def _get_state(self):
        return {"code_version": code_version(Path(__file__).parent)}

    def __setstate__(self, state):
        self.code_version = state["code_version"]


def _unless_diverged(recon, solver_metrics):
    """The reconstructions, or NaN images of their shapes when the solver
    flags the point as diverged."""
    if not is_diverged(solver_metrics):
        return recon
    return [torch.full(tuple(np.shape(r)), float("nan")) for r in recon]
