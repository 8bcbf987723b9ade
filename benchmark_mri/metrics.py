"""Image quality metrics, exactly as fastMRI evaluates them (fastmri/evaluate.py).

The spec, one place:
- inputs are magnitude images of one volume, (S, h, w), the reconstruction
  centre-cropped to the target's size;
- NMSE = ||gt - pred||^2 / ||gt||^2 over the whole volume;
- PSNR = 10 log10(maxval^2 / MSE) over the whole volume, maxval = gt.max() of
  the volume (not max - min);
- SSIM: scikit-image's structural_similarity per slice, 7x7 uniform window,
  K1 = 0.01, K2 = 0.03, sample covariance, data_range = gt.max() of the volume;
  averaged over the slices;
- the benchmark reports the mean over volumes (and the standard deviation).

Uncertainty (`uncertainty_metrics`, for solvers that also return a per-pixel
posterior standard deviation, e.g. solvers/score_posterior.py), per volume,
on the object's pixels only: those whose target exceeds OBJECT_FRACTION (0.1)
of the target volume's maximum (the background, noise around zero, is left
out):
- coverage_2sigma: the fraction of object pixels whose |recon - target| is
  at most 2 posterior standard deviations (0.954 for a calibrated Gaussian
  posterior);
- mean_posterior_std: the mean standard deviation over object pixels,
  relative to the target volume's maximum (the data range of PSNR / SSIM);
- error_std_correlation: Spearman's rank correlation between |recon -
  target| and the standard deviation over each slice's object pixels
  (scipy.stats.spearmanr), averaged over slices (NaN where a slice's std or
  error is constant);
reported as the mean over volumes and `<name>_std`, their standard deviation.
"""

import warnings

import numpy as np
from scipy.stats import spearmanr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .data.transforms import center_crop, to_numpy


def _check(gt: np.ndarray, pred: np.ndarray):
    if gt.ndim != 3:
        raise ValueError(f"Metrics take volumes (S, h, w); got gt of shape {gt.shape}.")
    if gt.shape != pred.shape:
        raise ValueError(
            f"Reconstruction shape {pred.shape} does not match the target's {gt.shape}."
        )


def nmse(gt, pred) -> float:
    """Normalised mean squared error of a volume."""
    gt, pred = to_numpy(gt).astype(np.float64), to_numpy(pred).astype(np.float64)
    _check(gt, pred)
    return float(np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2)


def psnr(gt, pred, maxval: float | None = None) -> float:
    """PSNR of a volume, data_range = the volume's maximum (fastMRI's)."""
    gt, pred = to_numpy(gt).astype(np.float64), to_numpy(pred).astype(np.float64)
    _check(gt, pred)
    maxval = gt.max() if maxval is None else maxval
    return float(peak_signal_noise_ratio(gt, pred, data_range=maxval))


def ssim(gt, pred, maxval: float | None = None) -> float:
    """Mean over slices of the 7x7 SSIM, data_range = the volume's maximum."""
    gt, pred = to_numpy(gt).astype(np.float64), to_numpy(pred).astype(np.float64)
    _check(gt, pred)
    maxval = gt.max() if maxval is None else maxval
    values = [
        structural_similarity(
            g, p, data_range=maxval, win_size=7, K1=0.01, K2=0.03,
            gaussian_weights=False, use_sample_covariance=True,
        )
        for g, p in zip(gt, pred)
    ]
    return float(np.mean(values))


METRICS = {"psnr": psnr, "ssim": ssim, "nmse": nmse}


def evaluate_volumes(targets, recons) -> dict[str, np.ndarray]:
    """Per-volume metrics: {"psnr": (V,), "ssim": (V,), "nmse": (V,)}.

    targets, recons: sequences of (S, h, w) magnitude volumes; each
    reconstruction is centre-cropped to its target's size first. A volume
    with non-finite values scores NaN on every metric.
    """
    if len(targets) != len(recons):
        raise ValueError(
            f"Got {len(recons)} reconstructed volumes for {len(targets)} targets."
        )
    scores = {name: [] for name in METRICS}
    for gt, pred in zip(targets, recons):
        gt, pred = to_numpy(gt), to_numpy(pred)
        if np.iscomplexobj(pred):
            raise ValueError("Reconstructions must be magnitude (real) images.")
        if pred.shape[:-2] != gt.shape[:-2] or any(
            p < g for p, g in zip(pred.shape[-2:], gt.shape[-2:])
        ):
            raise ValueError(
                f"Reconstruction of shape {pred.shape} cannot be cropped to the "
                f"target's {gt.shape}."
            )
        pred = center_crop(pred, gt.shape[-2:])
        finite = np.isfinite(pred).all()
        for name, func in METRICS.items():
            scores[name].append(func(gt, pred) if finite else np.nan)
    return {name: np.asarray(values) for name, values in scores.items()}


OBJECT_FRACTION = 0.1  # object pixels: target > 0.1 x the volume's maximum
UNCERTAINTY_METRICS = ("coverage_2sigma", "mean_posterior_std", "error_std_correlation")


def object_mask(gt: np.ndarray) -> np.ndarray:
    """(S, h, w) bool: the target's pixels above OBJECT_FRACTION of its max."""
    return gt > OBJECT_FRACTION * gt.max()


def volume_uncertainty(gt, pred, std) -> dict[str, float]:
    """The module doc's uncertainty metrics of one volume (S, h, w) each;
    NaN everywhere when pred or std is not finite."""
    gt = to_numpy(gt).astype(np.float64)
    pred = center_crop(to_numpy(pred).astype(np.float64), gt.shape[-2:])
    std = center_crop(to_numpy(std).astype(np.float64), gt.shape[-2:])
    _check(gt, pred)
    _check(gt, std)
    if not (np.isfinite(pred).all() and np.isfinite(std).all()):
        return {name: float("nan") for name in UNCERTAINTY_METRICS}
    inside = object_mask(gt)
    error = np.abs(pred - gt)
    correlations = []
    for e, s, m in zip(error, std, inside):
        if m.sum() < 3 or np.ptp(e[m]) == 0 or np.ptp(s[m]) == 0:
            correlations.append(np.nan)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            correlations.append(spearmanr(e[m], s[m]).statistic)
    correlations = np.asarray(correlations, dtype=float)
    return {
        "coverage_2sigma": float(np.mean(error[inside] <= 2 * std[inside])),
        "mean_posterior_std": float(std[inside].mean() / gt.max()),
        "error_std_correlation": (float(np.nanmean(correlations))
                                  if np.isfinite(correlations).any() else float("nan")),
    }


def uncertainty_metrics(targets, recons, stds) -> dict[str, float]:
    """Mean over volumes and `_std` of the uncertainty metrics (module doc).

    targets, recons, stds: sequences of (S, h, w) volumes (recon and std
    magnitude-like, centre-cropped to the target's size first).
    """
    if not len(targets) == len(recons) == len(stds):
        raise ValueError(f"Got {len(recons)} reconstructions and {len(stds)} "
                         f"standard deviations for {len(targets)} targets.")
    per_volume = [volume_uncertainty(gt, pred, std)
                  for gt, pred, std in zip(targets, recons, stds)]
    result = {}
    for name in UNCERTAINTY_METRICS:
        values = np.asarray([v[name] for v in per_volume], dtype=float)
        if not len(values):  # no scored volume
            result[name] = result[f"{name}_std"] = float("nan")
            continue
        result[name] = float(np.mean(values))
        result[f"{name}_std"] = float(np.std(values))
    return result
