"""Result frames in benchopt's format, built without running benchopt.

`callback_frame()` mimics a merged run of several solvers on several dataset
settings: run-once and callback solvers (several rows per curve, `stop_val`,
`time` starting at 0), a learned solver swept over test-time iterations with
its training count (`objective_inference_iterations` and
`objective_train_iterations` on every row, as learned solvers record them),
solver measurements, a solver that failed on one setting
(no rows there, as benchopt drops failed runs), NaN values, and the
`final_results` the objective saves. `write(frame, path)` uses benchopt's own
writer, so the pickled final_results go through benchopt's packing.
"""

import numpy as np
import pandas as pd
from benchopt.results import save_results

from benchmark_mri.results import FORMAT, gallery_slices

SETTINGS = [  # (dataset name, acceleration, mask)
    ("phantom", 8, "random"), ("phantom", 4, "random"),
    ("fastmri_knee", 4, "equispaced"),
]
PROVENANCE = {"command": "benchopt run . --config configs/quickstart.yml",
              "git_commit": "0123456789abcdef+dirty",
              "versions": {"benchopt": "1.10.0", "torch": "2.13.0+cpu"},
              "machine": {"cpu": "x86_64"}}


def _images(rng, size, quality, n_volumes=2, n_slices=3):
    yy, xx = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    phantom = ((xx**2 + yy**2) < 0.7).astype(np.float32)
    phantom += 0.5 * (((xx - 0.2)**2 + 2 * yy**2) < 0.1)
    targets = [np.stack([phantom * (1 + 0.1 * s) for s in range(n_slices)])
               for _ in range(n_volumes)]
    recons = [t + (1 - quality) * rng.standard_normal(t.shape).astype(np.float32)
              for t in targets]
    return targets, [np.abs(r) for r in recons]


def _final(rng, size, quality):
    targets, recons = _images(rng, size, quality)
    return {"format": FORMAT, "provenance": PROVENANCE,
            "slices": gallery_slices(["vol_a", "vol_b"], targets, recons)}


def _solvers(n_extra=0):
    """(solver_name, params, strategy, n_points, quality, extras)."""
    learned = dict(inference_time_s=0.02, train_peak_memory_mb=812.0,
                   forward_iterations=5.0, saved_tensors_mb=3.5,
                   train_time_per_epoch_s=0.4)
    solvers = [("zero_filled", {}, "run_once", 1, 0.6, {}),
               ("grappa[kernel_size=5]", {"kernel_size": 5}, "run_once", 1, 0.75, {}),
               ("ista_l1[lmbda=0.001]", {"lmbda": 0.001}, "callback", 6, 0.85, {})]
    for test_iterations in (2, 5, 10):
        solvers.append((f"xpdnet[n_iter=5,test_iterations={test_iterations}]",
                        {"n_iter": 5, "test_iterations": test_iterations},
                        "callback", 4, 0.9 - 0.01 * abs(test_iterations - 5),
                        dict(learned, inference_iterations=float(test_iterations),
                             train_iterations=5.0)))
    for k in range(n_extra):
        solvers.append((f"extra_{k}", {}, "callback", 5, 0.7 + 0.02 * k, {}))
    return solvers


def callback_frame(image_size: int = 32, n_extra_solvers: int = 0,
                   settings=SETTINGS, failed=True, nan=True, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, acceleration, mask in settings:
        name = (f"{dataset}[acceleration={acceleration},image_size={image_size},"
                f"mask_type={mask}]")
        for solver, params, strategy, n_points, quality, extras in _solvers(
                n_extra_solvers):
            if failed and solver.startswith("grappa") and dataset == "fastmri_knee":
                continue  # failed: benchopt writes no row
            quality = quality - 0.02 * (acceleration - 4)
            for k in range(n_points):
                progress = (k + 1) / n_points
                psnr = 20 + 15 * quality * progress
                row = {
                    "objective_name": "MRI reconstruction", "solver_name": solver,
                    "dataset_name": name, "idx_rep": 0, "base_seed": 0,
                    "sampling_strategy": strategy.capitalize(),
                    "stop_val": k if strategy == "callback" else 1,
                    "time": 0.3 * k + (0.0 if strategy == "callback" else 0.05),
                    "objective_psnr": psnr, "objective_psnr_std": 0.3,
                    "objective_ssim": 0.5 + 0.45 * quality * progress,
                    "objective_ssim_std": 0.02,
                    "objective_nmse": 10 ** (-psnr / 10), "objective_nmse_std": 0.002,
                    "p_dataset_acceleration": acceleration,
                    "p_dataset_image_size": image_size, "p_dataset_mask_type": mask,
                    "run_date": "2026-11-22T10:00:00", "platform": "Linux",
                    "system-cpus": 2, "version-numpy": np.__version__,
                }
                row["objective_value"] = row["objective_nmse"]
                row.update({f"objective_{k_}": v for k_, v in extras.items()})
                row.update({f"p_solver_{k_}": v for k_, v in params.items()})
                row["final_results"] = (_final(rng, image_size, quality)
                                        if k == n_points - 1 else None)
                rows.append(row)
    frame = pd.DataFrame(rows)
    if nan:
        ista = frame["solver_name"].str.startswith("ista") & (frame["stop_val"] == 2)
        ista &= frame["p_dataset_acceleration"] == 4
        frame.loc[ista, "objective_ssim"] = np.nan
    return frame


def write(frame: pd.DataFrame, path) -> str:
    return str(save_results(frame, path, uniquify=False))


def sampling_frame(image_size: int = 32, seed: int = 0) -> pd.DataFrame:
    """A run of `-d "phantom[acceleration=[4,8],mask_type=[random,equispaced,
    gaussian]]" -s unet -s zero_filled -s "loupe[network=unet]"` over two
    repetitions: the rows record `objective_sampled_fraction` and
    `objective_solver_mask`, the saved slices their masks; loupe's rows are
    measured with its own ("learned") mask in every dataset setting."""
    rng = np.random.default_rng(seed)
    rows = []
    quality = {"random": 0.70, "equispaced": 0.68, "gaussian": 0.74, "learned": 0.80}
    for acceleration in (4, 8):
        for mask in ("random", "equispaced", "gaussian"):
            name = (f"phantom[acceleration={acceleration},image_size={image_size},"
                    f"mask_type={mask}]")
            for solver, by_solver, gain in (("zero_filled", 0, -0.2), ("unet", 0, 0),
                                            ("loupe[network=unet]", 1, 0)):
                used = "learned" if by_solver else mask
                columns = np.zeros(image_size, dtype=bool)
                columns[:: acceleration] = True
                for rep in (0, 1):
                    q = quality[used] + gain - 0.05 * (acceleration - 4) + 0.01 * rep
                    targets, recons = _images(rng, image_size, q)
                    final = {"format": FORMAT, "provenance": PROVENANCE,
                             "mask": used, "slices": gallery_slices(
                                 ["vol_a", "vol_b"], targets, recons,
                                 masks=[np.tile(columns, (3, 1))] * 2)}
                    psnr = 20 + 15 * q
                    rows.append({
                        "objective_name": "MRI reconstruction", "solver_name": solver,
                        "dataset_name": name, "idx_rep": rep, "stop_val": 1,
                        "time": 1.0, "sampling_strategy": "Run_once",
                        "objective_psnr": psnr, "objective_psnr_std": 0.3,
                        "objective_ssim": 0.5 + 0.4 * q, "objective_ssim_std": 0.01,
                        "objective_nmse": 10 ** (-psnr / 10),
                        "objective_nmse_std": 0.001,
                        "objective_value": 10 ** (-psnr / 10),
                        "objective_sampled_fraction": columns.mean() + 0.001 * rep,
                        "objective_solver_mask": by_solver,
                        "p_dataset_acceleration": acceleration,
                        "p_dataset_image_size": image_size,
                        "p_dataset_mask_type": mask,
                        **({"p_solver_network": "unet"} if by_solver else {}),
                        "final_results": final,
                    })
    return pd.DataFrame(rows)
