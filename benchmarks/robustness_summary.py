"""The robustness study's tables (docs/robustness.md), from a result file.

    benchopt run . --config configs/robustness.yml        # -> outputs/<run>.parquet
    PYTHONPATH=$PWD python benchmarks/robustness_summary.py outputs/<run>.parquet

Rows are paired as the dashboard pairs them (benchmark_mri/report/robustness.py):
a model is a solver name without train_acceleration / train_mask_type; a shifted
row's drop is the PSNR of the same model trained under the test's setting, at the
same test setting and repetition, minus its own. Repetitions draw their own
phantoms and initial weights, so a drop is paired within a repetition. Printed,
as markdown: for every test setting, each model's PSNR / SSIM (mean ± std over
repetitions) in distribution and under each training shift with its drop, and
classical solvers; a drop whose mean is within one standard deviation of the
repetitions is marked "~" (within a seed's spread); then learned models by their
worst and best case.
"""

import argparse

import numpy as np

from benchmark_mri.report.names import short_names
from benchmark_mri.report.read import load_run
from benchmark_mri.report.robustness import (
    KIND_ORDER,
    REFERENCE,
    SHIFTED,
    ranking,
    robustness_rows,
    setting_label,
    summarise,
)


def number(mean, std, spec=".2f") -> str:
    if not np.isfinite(mean):
        return "n/a"
    return format(mean, spec) + (f" ± {std:.2g}" if np.isfinite(std) else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("result", help="a benchopt result file of the study")
    args = parser.parse_args()
    run = load_run(args.result)
    rows = robustness_rows(run.frame)
    summary = summarise(rows)
    labels = short_names(sorted(summary["model"].unique()))
    reps = rows.groupby("model")["rep"].nunique().max()
    print(f"{args.result}: {len(rows)} final points, {reps} repetition(s)\n")
    for test in sorted(summary["test"].unique()):
        print(f"### tested {setting_label(test)}\n")
        print("| solver | trained | PSNR (dB) | SSIM | drop (dB) |")
        print("|---|---|---|---|---|")
        part = summary[summary["test"] == test]
        part = part.sort_values(["model", "kind"], key=lambda c: c.map(KIND_ORDER)
                                if c.name == "kind" else c)
        for _, e in part.iterrows():
            trained = ("no training" if e["kind"] == REFERENCE
                       else setting_label(e["train"]))
            drop = ""
            if e["kind"] == SHIFTED:
                drop = number(e["drop"], e["drop_std"])
                if np.isfinite(e["drop_std"]) and abs(e["drop"]) <= e["drop_std"]:
                    drop += " ~"
            print(f"| {labels[e['model']]} | {trained} | "
                  f"{number(e['psnr'], e['psnr_std'])} | "
                  f"{number(e['ssim'], e['ssim_std'], '.3f')} | {drop} |")
        print()
    print("### learned models, worst and best case (mean PSNR over repetitions)\n")
    print("| solver | worst (dB) | trained / tested | best (dB) | trained / tested | "
          "largest drop (dB) |")
    print("|---|---|---|---|---|---|")
    for _, r in ranking(summary).iterrows():
        worst, best = r["worst_at"], r["best_at"]
        print(f"| {labels[r['model']]} | {r['worst']:.2f} | "
              f"{setting_label(worst['train'])} / {setting_label(worst['test'])} | "
              f"{r['best']:.2f} | {setting_label(best['train'])} / "
              f"{setting_label(best['test'])} | {number(r['drop'], np.nan)} |")


if __name__ == "__main__":
    main()
