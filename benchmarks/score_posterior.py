"""Score-based posterior sampling on the phantom, tuned on a validation split.

    PYTHONPATH=$PWD python benchmarks/score_posterior.py [--epochs 20] \
        [--method hmc] [--n-samples 8] [--n-steps 4] [--step-size 0.3] ...

The phantom's defaults (128 px, 8 coils, 4x random; 8 training volumes of 4
slices, seed 0) trains the score network (benchmark_mri/learned/score) and
samples the posteriors of 2 *validation* volumes (phantom_volumes("val"),
never the benchopt test volumes): the defaults of solvers/score_posterior.py
were chosen with this script. Printed: training time, sampling time per
sample and slice, PSNR / SSIM of the posterior mean and of the zero-filled
image, the uncertainty metrics (benchmark_mri.metrics.uncertainty_metrics)
after each block of samples. The numbers of docs/score-posterior.md.
"""

import argparse
import time

from benchmark_mri.data import measure, phantom_volumes
from benchmark_mri.learned import Training, TrainSettings, model_config
from benchmark_mri.learned.score import SamplerSettings, ScorePosteriorRun, dsm_step
from benchmark_mri.metrics import evaluate_volumes, uncertainty_metrics
from benchmark_mri.physics import CartesianSampling


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--channels", type=int, default=None)
    parser.add_argument("--patch", type=int, default=None)
    parser.add_argument("--patches", type=int, default=None)
    parser.add_argument("--sigma-max", type=float, default=None)
    parser.add_argument("--sigma-min", type=float, default=None)
    parser.add_argument("--n-levels", type=int, default=None)
    parser.add_argument("--method", default="hmc")
    parser.add_argument("--n-samples", type=int, default=8)
    parser.add_argument("--n-steps", type=int, default=3)
    parser.add_argument("--step-size", type=float, default=None)
    parser.add_argument("--n-leapfrog", type=int, default=4)
    parser.add_argument("--sigma-y", type=float, default=None)
    parser.add_argument("--sample-block", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoints", default=None,
                        help="checkpoint folder (default: none, always train)")
    args = parser.parse_args()

    sampling = CartesianSampling("random", 4)
    shape = dict(image_size=128, n_coils=8, n_slices=4)
    train = [measure(v, sampling, True) for v in
             phantom_volumes("train", 8, args.seed, **shape)]
    volumes = phantom_volumes("val", 2, args.seed, **shape)
    val = [measure(v, sampling, False) for v in volumes]
    targets = [v.target for v in volumes]
    config = model_config("score", "cpu_small", channels=args.channels,
                          patch=args.patch, patches=args.patches,
                          sigma_max=args.sigma_max, sigma_min=args.sigma_min,
                          n_levels=args.n_levels)
    settings = TrainSettings(n_epochs=args.epochs, lr=args.lr,
                             batch_size=args.batch_size, loss="l2", seed=args.seed)
    sampler = SamplerSettings(method=args.method, n_samples=args.n_samples,
                              n_steps=args.n_steps, step_size=args.step_size,
                              n_leapfrog=args.n_leapfrog, sigma_y=args.sigma_y,
                              sample_block=args.sample_block)
    print(config, settings, sampler, sep="\n")
    training = Training("score_posterior", config, train, settings,
                        step_fn=dsm_step(config, settings), device="cpu",
                        cache_dir=args.checkpoints)
    run = ScorePosteriorRun(training, val, sampler, eval_every=args.eval_every)
    start = time.perf_counter()

    def callback():
        result = run.result()
        scores = {k: float(v.mean()) for k, v in
                  evaluate_volumes(targets, result["recon"]).items()}
        scores.update(uncertainty_metrics(targets, result["recon"],
                                          result["posterior_std"]))
        keys = ("n_samples_drawn", "train_epochs", "train_loss", "time_per_sample_s",
                "sigma_y", "diverged")
        print(f"{time.perf_counter() - start:7.1f}s "
              + " ".join(f"{k}={result[k]:.4g}" for k in keys) + " | "
              + " ".join(f"{k}={v:.4g}" for k, v in scores.items()), flush=True)
        return True

    run.run(callback)
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
