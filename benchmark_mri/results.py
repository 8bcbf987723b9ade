"""What a run records: the names the objective and the report share.

The run-time side of the dashboards, imported by the objective on every run
and by the report (benchmark_mri/report/) when it reads a result file; it
imports neither benchopt nor plotly, nor the report.

- OBJECTIVE_NAME: the objective's benchopt name (its parameters follow it in
  the result file: "MRI reconstruction[smaps=acs]").
- Metric, KNOWN_METRICS, KNOWN_MEASUREMENTS: the result columns with a known
  meaning. benchopt writes each key `k` of `evaluate_result`'s dict as the
  column `objective_k` (`result_column`); metrics are volume means, their
  spread over volumes is `objective_k_std`.
- UNCERTAINTY_METRICS: the metrics of a solver that returns a posterior
  standard deviation (metrics.uncertainty_metrics; solvers/score_posterior.py),
  shown in the final table when present, never required of a result file.
- NOT_METRICS: benchopt's objective_* columns that are no measurement.
- INFERENCE_ITERATIONS, TRAIN_ITERATIONS, ...: measurements every learned
  solver returns from get_result (benchmark_mri/learned/run.py).
- SAMPLED_FRACTION, SOLVER_MASK: what the objective records of every row's
  measurements (benchmark_mri/data/acquisition.py).
- DIVERGED_FLAGS, is_diverged: the flags (0 / 1) a solver returns when its
  run diverged; such a point is never scored (NaN metrics) nor ranked.
- TESTED_UNDER, TRAINED_UNDER, setting_columns: under what a row was tested
  and its model trained (source, acceleration, mask type), so that the
  report pairs a model tested under a shift with the one trained in
  distribution without parsing names.
- FORMAT, gallery_slices, final_results, read_final_results: the
  reconstructions a run saves for the report's gallery (below).
- run_provenance, git_commit: what a run records about itself.

Saved reconstructions. The objective's `save_final_results` returns
`final_results(...)`; benchopt pickles it into the `final_results` column of
the result file, on the last row of each solver's curve (benchopt/runner.py).
Only plain dicts, lists, strings, floats and numpy arrays are used, which
benchopt's restricted unpickler allows. Format "benchmark_mri.final/1":
    {"format": FORMAT,
     "slices": [{"volume": str, "slice": int,
                 "target": (h, w) float16, "recon": (h, w) float16,
                 "data_range": float, "psnr": float, "ssim": float,
                 "std": (h, w) float16, only for a solver that returns a
                        posterior standard deviation,
                 "mask": (W,) uint8, 1 on the sampled columns of that slice's
                         Cartesian k-space (absent for non-Cartesian data)},
                ...],
     "mask": str, the name of the mask the reconstructions were measured
             with: the dataset's mask type, or the kind of the mask the
             solver proposed ("learned", ...; data/acquisition.py),
     "provenance": dict (run_provenance, with "solver": the solver's text
                    records such as "pretrained_sha256", when it has any)}
Images are magnitudes divided by `data_range` (the target volume's maximum,
fastMRI's PSNR / SSIM data range), so they lie near [0, 1] and fit float16;
the reconstruction is centre-cropped to the target's size. PSNR and SSIM are
those of that one slice, with the volume's data range. A volume without a
reference (target None) saves "target": None, its reconstruction divided by
its own maximum, and NaN scores. The posterior standard deviation is
divided by the same data range.

Provenance. benchopt's result file carries the platform, numpy / scipy
versions and the run date, but not the command line, the benchmark's commit
or the versions of benchopt and torch; `run_provenance()` collects them in
the process that runs the objective (the `benchopt run` process itself unless
the run is parallel, which the recorded command shows).
"""

import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

OBJECTIVE_NAME = "MRI reconstruction"


def result_column(name: str) -> str:
    """benchopt's column of the key `name` of evaluate_result's dict."""
    return f"objective_{name}"


@dataclass(frozen=True)
class Metric:
    """A curve / table quantity: column in the file, label, which way is better."""

    column: str
    label: str
    better: str | None  # "max", "min" or None (no "best" highlighted)
    log: bool = False
    std_column: str | None = None


def _scored(name: str, label: str, better: str, log: bool = False) -> Metric:
    column = result_column(name)
    return Metric(column, label, better, log, std_column=column + "_std")


KNOWN_METRICS = (
    _scored("psnr", "PSNR (dB)", "max"),
    _scored("ssim", "SSIM", "max"),
    _scored("nmse", "NMSE", "min", log=True),
)

# What a posterior sampler adds (metrics.uncertainty_metrics); not in
# KNOWN_METRICS, which every result file of this benchmark has.
UNCERTAINTY_METRICS = (
    _scored("coverage_2sigma", "coverage of |error| by 2 std (0.954 ideal)", None),
    _scored("mean_posterior_std", "mean posterior std / max", None),
    _scored("error_std_correlation", "Spearman(|error|, std)", "max"),
)

# Under what a row was tested, and its model trained: the data source (the
# dataset's name, or the `transfer` dataset's `train` / `test`), the
# acceleration and the mask type (data.split.sampling_setting: the trajectory
# for non-Cartesian sampling). Every row has the test's; learned solvers
# report train_acceleration and train_mask_type (learned/lifecycle.py), and
# the objective adds the training split's source; rows of solvers that do
# not train (or that evaluate pretrained weights as they are) have None / NaN.
TESTED_UNDER = ("test_source", "test_acceleration", "test_mask_type")
TRAINED_UNDER = ("train_source", "train_acceleration", "train_mask_type")

# objective_* columns benchopt writes that are no measurement to show (the
# settings are shown as such, report/robustness.py).
SETTING_COLUMNS = tuple(result_column(name) for name in TESTED_UNDER + TRAINED_UNDER)
NOT_METRICS = frozenset({"objective_name", "objective_value", "objective_description",
                         *SETTING_COLUMNS})

# What every learned solver returns from get_result, besides `recon`.
INFERENCE_ITERATIONS = "inference_iterations"  # inner iterations used at test time
TRAIN_ITERATIONS = "train_iterations"  # inner iterations the model was trained with
INFERENCE_TIME_S = "inference_time_s"  # seconds per test slice
TRAIN_PEAK_MEMORY_MB = "train_peak_memory_mb"  # peak training memory
SAVED_TENSORS_MB = "saved_tensors_mb"  # tensors saved for backward, one step
TRAIN_TIME_PER_EPOCH_S = "train_time_per_epoch_s"  # training seconds per epoch
# What the objective records of every row's measurements (data/acquisition.py):
# sampled columns / W, mean over test slices; 0 = the dataset's masks, 1 = a
# mask the solver proposed.
SAMPLED_FRACTION = "sampled_fraction"
SOLVER_MASK = "solver_mask"
# What a posterior sampler returns (learned/score/run.py): the samples drawn
# so far at a point (also its inference_iterations), seconds per sample and slice.
N_SAMPLES_DRAWN = "n_samples_drawn"
TIME_PER_SAMPLE_S = "time_per_sample_s"

# Flags a solver returns from get_result, 1 when its run diverged: learned
# solvers' `training_diverged` (learned/run.py), iterative solvers' `diverged`
# (classical/wavelet_l1.py). The objective scores such a point NaN and the
# report lists it as diverged, never ranks it.
# Written on every row by benchmark_utils/run_guard.py (not by a solver): 1 for
# the rows of a run that benchopt's --timeout stopped before its own end (a
# point that is not converged: listed by the dashboard, never ranked).
STOPPED_BY_TIMEOUT = "stopped_by_timeout"

DIVERGED_FLAGS = ("training_diverged", "diverged")
DIVERGED_COLUMNS = tuple(result_column(name) for name in DIVERGED_FLAGS)


def setting_columns(test_setting: tuple, test_source: str | None,
                    train_source: str | None, solver_metrics: dict) -> dict:
    """The TESTED_UNDER and TRAINED_UNDER fields of one evaluation.

    test_setting: (acceleration, mask type) of the test split; test_source /
    train_source: the splits' data sources; solver_metrics: get_result's
    dict, with train_acceleration / train_mask_type when the solver trained.
    """
    acceleration, mask_type = test_setting
    row = dict(test_source=test_source, test_acceleration=float(acceleration),
               test_mask_type=mask_type, train_source=None,
               train_acceleration=float("nan"), train_mask_type=None)
    trained = solver_metrics.get("train_acceleration")
    try:
        trained = float(trained)
    except (TypeError, ValueError):
        return row
    if np.isfinite(trained):
        row.update(train_source=train_source, train_acceleration=trained,
                   train_mask_type=solver_metrics.get("train_mask_type"))
    return row


def is_diverged(solver_metrics: dict) -> bool:
    """True when a get_result dict (without `recon`) flags a divergence."""
    return any(_truthy(solver_metrics.get(name)) for name in DIVERGED_FLAGS)


def _truthy(value) -> bool:
    try:
        return float(value) == 1
    except (TypeError, ValueError):
        return False


# Solver measurements shown in the final table, in this order; `time` is
# benchopt's own column (solver seconds: training for a learned solver).
KNOWN_MEASUREMENTS = (
    Metric(result_column(INFERENCE_TIME_S), "inference / slice (s)", "min"),
    Metric("time", "time (s): training or run", "min"),
    Metric(result_column(TRAIN_PEAK_MEMORY_MB), "peak train memory (MB)", "min"),
    Metric(result_column(SAVED_TENSORS_MB), "saved for backward (MB)", "min"),
    Metric(result_column(TRAIN_TIME_PER_EPOCH_S), "train time / epoch (s)", "min"),
    Metric(result_column(TIME_PER_SAMPLE_S), "time / sample / slice (s)", "min"),
    Metric(result_column(N_SAMPLES_DRAWN), "posterior samples", None),
    Metric(result_column(SAMPLED_FRACTION), "sampled fraction", None),
    Metric(result_column(SOLVER_MASK), "solver's mask (1) or dataset's (0)", None),
)

FORMAT = "benchmark_mri.final/1"
MAX_VOLUMES = 2  # central slice of the first MAX_VOLUMES test volumes


def gallery_slices(names, targets, recons, max_volumes: int = MAX_VOLUMES,
                   stds=None, masks=None):
    """The central slice of the first `max_volumes` volumes, target and recon
    (and the posterior std, when `stds` is given; the slice's mask, when
    `masks` is).

    names: volume names; targets, recons: (S, h, w) magnitude volumes (torch or
    numpy; recons may be larger than the targets and are centre-cropped); a
    target may be None (no reference); stds: None, or the per-pixel posterior
    standard deviations, shaped as recons; masks: None, or per volume its
    (S, W) bool column masks (None for a non-Cartesian volume).
    """
    from .data.transforms import center_crop, to_numpy
    from .metrics import psnr, ssim

    slices = []
    stds = [None] * len(recons) if stds is None else stds
    masks = [None] * len(recons) if masks is None else masks
    for name, gt, pred, std, mask in list(zip(names, targets, recons, stds,
                                              masks))[:max_volumes]:
        if gt is None:
            slices.append(_unscored_slice(name, to_numpy(pred).astype(np.float32),
                                          None if std is None else to_numpy(std)))
            _add_mask(slices[-1], mask)
            continue
        gt = to_numpy(gt).astype(np.float32)
        pred = center_crop(to_numpy(pred).astype(np.float32), gt.shape[-2:])
        index = gt.shape[0] // 2
        data_range = float(gt.max())
        g, p = gt[index : index + 1], pred[index : index + 1]
        finite = bool(np.isfinite(p).all())
        entry = {
            "volume": str(name),
            "slice": int(index),
            "target": (g[0] / data_range).astype(np.float16),
            "recon": (p[0] / data_range).astype(np.float16),
            "data_range": data_range,
            "psnr": psnr(g, p, data_range) if finite else float("nan"),
            "ssim": ssim(g, p, data_range) if finite else float("nan"),
        }
        if std is not None:
            s = center_crop(to_numpy(std).astype(np.float32), gt.shape[-2:])[index]
            entry["std"] = (s / data_range).astype(np.float16)
        _add_mask(entry, mask)
        slices.append(entry)
    return slices


def _add_mask(entry: dict, mask) -> None:
    """entry["mask"]: the (W,) uint8 columns of the entry's slice, if any."""
    if mask is not None:
        entry["mask"] = np.asarray(mask, dtype=np.uint8)[entry["slice"]].copy()


def _unscored_slice(name, pred, std=None) -> dict:
    index = pred.shape[0] // 2
    image = pred[index]
    data_range = float(np.nanmax(image)) if np.isfinite(image).any() else 1.0
    data_range = data_range if data_range > 0 else 1.0
    entry = {"volume": str(name), "slice": int(index), "target": None,
             "recon": (image / data_range).astype(np.float16),
             "data_range": data_range, "psnr": float("nan"), "ssim": float("nan")}
    if std is not None:
        entry["std"] = (np.asarray(std, np.float32)[index] / data_range).astype(
            np.float16)
    return entry


def final_results(names, targets, recons, benchmark_dir: Path,
                  solver_records: dict | None = None, std=None, masks=None,
                  mask_name: str | None = None) -> dict:
    """What the objective's save_final_results returns (see the module doc).
    solver_records: the solver's text records (e.g. the sha256 of the
    pretrained weights it loaded), kept as provenance["solver"]; std: None,
    or the per-pixel posterior standard deviation of each volume (shaped as
    recons), saved beside the reconstruction of each gallery slice; masks:
    None, or each volume's (S, W) bool masks (None for non-Cartesian data);
    mask_name: the name of the mask in force (data.acquisition)."""
    provenance = run_provenance(benchmark_dir)
    if solver_records:
        provenance["solver"] = {str(k): str(v) for k, v in solver_records.items()}
    out = {
        "format": FORMAT,
        "slices": gallery_slices(names, targets, recons, stds=std, masks=masks),
        "provenance": provenance,
    }
    if mask_name is not None:
        out["mask"] = str(mask_name)
    return out


def read_final_results(value) -> tuple[list, dict, str | None]:
    """(slices, provenance, problem) from one `final_results` cell.

    problem is None when the cell holds this format, else a sentence saying
    what is wrong; slices and provenance are then empty.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return [], {}, "no reconstructions were saved"
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        found = (value.get("format") if isinstance(value, dict)
                 else type(value).__name__)
        return [], {}, (f"saved results are not in the format {FORMAT!r} "
                        f"(found {found!r})")
    slices = [s for s in value.get("slices", [])
              if isinstance(s, dict) and {"target", "recon"} <= set(s)]
    return slices, dict(value.get("provenance") or {}), None


PACKAGES = ("benchopt", "torch", "numpy", "scipy", "scikit-image", "pandas",
            "sigpy", "pygrappa", "ptwt")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(directory: Path) -> str | None:
    """`<sha>` of HEAD in directory, `<sha>+dirty` with uncommitted changes,
    None outside a git checkout (or without git)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(directory), *args], text=True,
                              capture_output=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


def _program() -> list[str]:
    """`benchopt` for the console script, `python -m benchopt` for the module."""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":
        return ["python", "-m", program.parent.name]
    return [program.name]


def command_words() -> list[str]:
    """This process's command line, program first (see _program)."""
    return [*_program(), *sys.argv[1:]]


def run_provenance(benchmark_dir: Path) -> dict:
    """JSON-able dict: command, git commit, package versions, machine."""
    from .version import code_version

    versions = {name: _version(name) for name in PACKAGES}
    versions = {k: v for k, v in versions.items() if v is not None}
    versions["python"] = platform.python_version()
    versions["benchmark_mri source"] = code_version()
    machine = {"cpu": platform.processor() or platform.machine()}
    try:
        import torch

        if torch.cuda.is_available():
            machine["gpu"] = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - provenance must never fail a run
        pass
    return {
        "command": shlex.join(command_words()),
        "git_commit": git_commit(benchmark_dir),
        "versions": versions,
        "machine": machine,
    }
