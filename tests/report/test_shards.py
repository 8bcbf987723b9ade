"""The shards of a sharded run, merged into whole-split results (report/shards.py).

Frames are built from per-volume metrics cut into contiguous shards (7 volumes
in shards of 3, 2 and 2, as the datasets cut them): the merged mean and std
must be np.mean / np.std of all volumes.
"""

import numpy as np
import pandas as pd
import pytest

from benchmark_mri.report.gallery import collect
from benchmark_mri.report.html import build_report
from benchmark_mri.report.publish import publish
from benchmark_mri.report.read import load_run
from benchmark_mri.report.shards import merge_shards, parse_shard, shard_of
from benchmark_mri.results import FORMAT, gallery_slices

from .frames import _images, callback_frame, write

BASE = "fastmri_knee[acceleration={},mask_type=random]"
SIZES = (3, 2, 2)
N_VOLUMES = sum(SIZES)
METRICS = ("psnr", "ssim", "nmse")


def volume_scores(seed=0, n=N_VOLUMES):
    rng = np.random.default_rng(seed)
    return {"psnr": 30 + 3 * rng.standard_normal(n),
            "ssim": 0.8 + 0.05 * rng.standard_normal(n),
            "nmse": 0.01 + 0.004 * rng.random(n)}


def cut(scores, sizes=SIZES):
    """The shards' volumes: contiguous groups of `sizes`."""
    edges = np.cumsum((0, *sizes))
    return [{k: v[a:b] for k, v in scores.items()}
            for a, b in zip(edges[:-1], edges[1:])]


def dataset(shard, acceleration=4):
    return f"fastmri_knee[acceleration={acceleration},mask_type=random,shard={shard}]"


def row(solver, shard, scores, acceleration=4, **extra):
    """One row of shard "i/n" whose metrics are scores' means and np.std."""
    r = {"objective_name": "MRI reconstruction", "solver_name": solver,
         "dataset_name": dataset(shard, acceleration), "p_dataset_shard": shard,
         "p_dataset_acceleration": acceleration, "p_dataset_mask_type": "random",
         "idx_rep": 0, "stop_val": 1, "time": 1.0,
         "objective_n_scored": len(scores["psnr"])}
    for name in METRICS:
        r[f"objective_{name}"] = float(np.mean(scores[name]))
        r[f"objective_{name}_std"] = float(np.std(scores[name]))
    r["objective_value"] = r["objective_nmse"]
    r.update(extra)
    return r


def final(names, seed=0):
    targets, recons = _images(np.random.default_rng(seed), 16, 0.8, len(names))
    return {"format": FORMAT, "provenance": {"command": "benchopt run ."},
            "slices": gallery_slices(names, targets, recons)}


def run_once_frame(solvers=("zero_filled",), seed=0, accelerations=(4,)):
    """Run-once solvers over the three shards; returns (frame, per-volume
    scores of each (solver, acceleration))."""
    rows, scores = [], {}
    for a in accelerations:
        for k, solver in enumerate(solvers):
            every = volume_scores(seed + 10 * k + a)
            scores[solver, a] = every
            for i, part in enumerate(cut(every)):
                rows.append(row(solver, f"{i}/3", part, a, time=1.0 + i,
                                final_results=final([f"file{i}a", f"file{i}b"], i)))
    return pd.DataFrame(rows), scores


def _only(frame, solver, acceleration=4):
    rows = frame[(frame["solver_name"] == solver)
                 & (frame["dataset_name"] == BASE.format(acceleration))]
    return rows.sort_values("stop_val")


def _assert_whole_split(merged_row, every, tol=1e-9):
    for name in METRICS:
        assert merged_row[f"objective_{name}"] == pytest.approx(
            np.mean(every[name]), abs=tol, rel=0)
        assert merged_row[f"objective_{name}_std"] == pytest.approx(
            np.std(every[name]), abs=tol, rel=0)
    assert merged_row["objective_value"] == merged_row["objective_nmse"]


def test_merged_mean_and_std_are_the_whole_splits():
    frame, scores = run_once_frame(("zero_filled", "grappa"))
    merged, notes = merge_shards(frame)
    assert len(merged) == 2  # one row per solver, the shards' rows replaced
    for solver in ("zero_filled", "grappa"):
        (point,) = [r for _, r in _only(merged, solver).iterrows()]
        _assert_whole_split(point, scores[solver, 4])
        assert point["objective_n_scored"] == 7
        assert point["time"] == 3.0  # the slowest shard (parallel wall-clock)
        assert point["p_dataset_shard"] == "0/3,1/3,2/3"
    assert merge_shards(merged) == (merged, [])  # merging twice changes nothing
    assert notes == [f"{BASE.format(4)}: merged from shards 0/3, 1/3, 2/3 of 3: "
                     "metrics over the scored volumes of every shard; time is the "
                     "slowest shard's (as if the shards ran in parallel); the "
                     "gallery shows the first shard's saved slices."]


def test_iterative_curves_of_unequal_lengths():
    # ista on 3 shards that stopped after 4, 2 and 3 iterations: a shard that
    # stopped counts with its last point later on (it has converged).
    every = volume_scores(1)
    stops = (4, 2, 3)
    rows = []
    for i, (part, stop) in enumerate(zip(cut(every), stops)):
        for k in range(stop + 1):
            shifted = {name: v + 0.1 * k for name, v in part.items()}
            rows.append(row("ista", f"{i}/3", shifted, stop_val=k,
                            time=0.5 * k + i, objective_diverged=0))
    merged, _ = merge_shards(pd.DataFrame(rows))
    curve = _only(merged, "ista")
    assert curve["stop_val"].tolist() == [0, 1, 2, 3, 4]
    for k, (_, point) in enumerate(curve.iterrows()):
        expected = {name: np.concatenate([p[name] + 0.1 * min(k, stop) for p, stop
                                          in zip(cut(every), stops)])
                    for name in METRICS}
        _assert_whole_split(point, expected)
        # Time: the slowest shard at that iteration, its last for one stopped.
        assert point["time"] == max(0.5 * min(k, s) + i for i, s in enumerate(stops))
        assert point["objective_diverged"] == 0


def learned_rows(solver, every, acceleration=4, epochs=3):
    """Shard 0 trains (callbacks at epochs 0..epochs); shards 1 and 2 reuse
    its checkpoint: one point each, at the trained epochs, stop_val 0."""
    rows = []
    parts = cut(every)
    measured = dict(objective_train_peak_memory_mb=500.0,
                    objective_saved_tensors_mb=2.0,
                    objective_train_loss=0.1, objective_train_iterations=5.0,
                    objective_inference_iterations=5.0,
                    objective_training_diverged=0.0)
    for e in range(epochs + 1):
        early = {name: v - 0.5 * (epochs - e) for name, v in parts[0].items()}
        rows.append(row(solver, "0/3", early, acceleration, stop_val=e, time=10.0 * e,
                        objective_train_epochs=float(e),
                        objective_reused_checkpoint=0.0,
                        objective_train_time_s=10.0 * e,
                        objective_inference_time_s=0.01,
                        objective_sampled_fraction=0.25, **measured))
    for i in (1, 2):
        rows.append(row(solver, f"{i}/3", parts[i], acceleration, stop_val=0,
                        time=0.2, objective_train_epochs=float(epochs),
                        objective_reused_checkpoint=1.0,
                        objective_train_time_s=10.0 * epochs,
                        objective_inference_time_s=0.01 * (i + 1),
                        objective_sampled_fraction=0.25 + 0.01 * i,
                        **{**measured, "objective_train_peak_memory_mb": 0.0}))
    return rows


def test_learned_curve_one_training_shard_two_reused():
    every = volume_scores(2)
    rows = learned_rows("xpdnet[n_iter=5]", every)
    rows += learned_rows("xpdnet[n_iter=5]", every, acceleration=8)
    merged, notes = merge_shards(pd.DataFrame(rows))
    for acceleration in (4, 8):
        (point,) = [r for _, r in _only(merged, "xpdnet[n_iter=5]",
                                        acceleration).iterrows()]
        _assert_whole_split(point, every)
        assert point["objective_train_epochs"] == 3
        assert point["stop_val"] == 3 and point["time"] == 30.0  # the training's
        assert point["objective_reused_checkpoint"] == 0
        # The training shard's measurements, not the reused copies'.
        assert point["objective_train_peak_memory_mb"] == 500.0
        assert point["objective_train_time_s"] == 30.0
        # Per slice: weighted by the shards' volumes (3, 2, 2).
        assert point["objective_inference_time_s"] == pytest.approx(
            (3 * 0.01 + 2 * 0.02 + 2 * 0.03) / 7)
        assert point["objective_sampled_fraction"] == pytest.approx(
            (3 * 0.25 + 2 * 0.26 + 2 * 0.27) / 7)
        assert point["objective_training_diverged"] == 0
    reused = [n for n in notes if "reused the checkpoint" in n]
    assert len(reused) == 1  # once per solver, not per setting
    assert reused[0].startswith("xpdnet[n_iter=5] on fastmri_knee[acceleration=4")
    assert ("shards 1/3, 2/3 reused the checkpoint of shard 0/3 and evaluated only "
            "the trained model; its merged curves keep only the epochs every shard "
            "evaluated (3), 3 other point(s) are left out.") in reused[0]


def test_a_missing_shard_is_said_and_the_rest_merged():
    frame, scores = run_once_frame(("zero_filled", "xpdnet"))
    gone = (frame["solver_name"] == "xpdnet") & (frame["p_dataset_shard"] == "2/3")
    merged, notes = merge_shards(frame[~gone])
    assert (f"{BASE.format(4)}: shard 2/3 is missing for xpdnet; its figures cover "
            "2 of 3 shards.") in notes
    (point,) = [r for _, r in _only(merged, "xpdnet").iterrows()]
    first_two = {k: v[:5] for k, v in scores["xpdnet", 4].items()}
    _assert_whole_split(point, first_two)
    assert point["objective_n_scored"] == 5


def test_a_shard_with_nan_metrics_adds_nothing_and_is_said():
    frame, scores = run_once_frame()
    nan = frame["p_dataset_shard"] == "1/3"
    for name in METRICS:
        frame.loc[nan, [f"objective_{name}", f"objective_{name}_std"]] = np.nan
    frame.loc[nan, "objective_value"] = np.nan
    merged, notes = merge_shards(frame)
    (point,) = [r for _, r in merged.iterrows()]
    kept = {k: np.concatenate([v[:3], v[5:]]) for k, v in
            scores["zero_filled", 4].items()}
    _assert_whole_split(point, kept)
    assert point["objective_n_scored"] == 5
    assert (f"{BASE.format(4)}: shard 1/3 scored no volume (no finite metric) for "
            "zero_filled; its figures cover 2 of 3 shards.") in notes


def test_a_diverged_shard_makes_the_merged_point_diverged(tmp_path):
    every = volume_scores(3)
    rows = learned_rows("xpdnet", every)
    frame = pd.DataFrame(rows)
    last = frame.index[frame["p_dataset_shard"] == "2/3"]
    frame.loc[last, "objective_training_diverged"] = 1.0
    for name in ("psnr", "ssim", "nmse", "value"):
        frame.loc[last, f"objective_{name}"] = np.nan
    merged, _ = merge_shards(frame)
    (point,) = [r for _, r in merged.iterrows()]
    assert point["objective_training_diverged"] == 1
    assert np.isnan(point["objective_psnr"]) and np.isnan(point["objective_value"])
    run = load_run(write(frame, tmp_path / "diverged.parquet"))
    assert run.problems[0].startswith(f"xpdnet on {BASE.format(4)} DIVERGED")


def test_unsharded_frames_are_unchanged():
    frame = callback_frame()
    assert merge_shards(frame) == (frame, [])
    single = frame.assign(p_dataset_shard="0/1",
                          dataset_name=frame["dataset_name"].str.replace(
                              "]", ",shard=0/1]"))
    out, notes = merge_shards(single)
    assert out is single and notes == []


def test_malformed_and_inconsistent_shards_are_said_not_merged():
    frame, _ = run_once_frame()
    bad = frame["p_dataset_shard"] == "2/3"
    frame.loc[bad, "p_dataset_shard"] = "two/3"
    frame.loc[bad, "dataset_name"] = dataset("two/3")
    merged, notes = merge_shards(frame)
    assert any(n.startswith(f"{BASE.format(4)}: shard 'two/3' is not \"i/n\"")
               and "shown unmerged" in n for n in notes)
    assert dataset("two/3") in set(merged["dataset_name"])  # kept, as it was
    assert any("shard 2/3 is missing for zero_filled" in n for n in notes)

    mixed, _ = run_once_frame()
    mixed.loc[mixed["p_dataset_shard"] == "2/3", "p_dataset_shard"] = "1/2"
    merged, notes = merge_shards(mixed)
    assert any("zero_filled has shards of different counts (0/3, 1/2, 1/3)" in n
               and "shown unmerged" in n for n in notes)
    assert len(merged) == 3 and BASE.format(4) not in set(merged["dataset_name"])


def test_the_shard_is_read_from_the_name_without_its_column():
    frame, scores = run_once_frame()
    merged, _ = merge_shards(frame.drop(columns=["p_dataset_shard"]))
    (point,) = [r for _, r in merged.iterrows()]
    assert point["dataset_name"] == BASE.format(4)
    _assert_whole_split(point, scores["zero_filled", 4])
    assert shard_of(None, "a[b=1,shard=1/4]") == "1/4"
    assert shard_of(float("nan"), "a[b=1]") is None
    assert parse_shard("1/4") == (1, 4)
    assert parse_shard("4/4") is None and parse_shard("x") is None


def test_a_sharded_result_file_reads_merged_into_the_dashboard(tmp_path):
    """Written and read as a real result file (benchopt's writer and reader):
    figures, tables, gallery and published summary show the whole split."""
    frame, scores = run_once_frame(("zero_filled", "grappa"), accelerations=(4, 8))
    path = write(frame, tmp_path / "sharded.parquet")
    run = load_run(path)
    assert [g.subtitle for g in run.groups] == [BASE.format(4), BASE.format(8)]
    for group in run.groups:
        a = int(group.frame["p_dataset_acceleration"].iloc[0])
        for solver in ("zero_filled", "grappa"):
            (point,) = [r for _, r in group.frame[
                group.frame["solver_name"] == solver].iterrows()]
            _assert_whole_split(point, scores[solver, a])
        # The gallery: shard 0's saved slices (the split's first volumes).
        assert {v for v, _ in collect(group)} == {"file0a", "file0b"}
    merged_notes = [p for p in run.problems if "merged from shards" in p]
    assert len(merged_notes) == 2
    page = build_report(path, tmp_path / "dash").read_text()
    assert "shard=" not in page.split('<p class="sub">')[1].split("</p>")[0]
    problems = page.split('id="problems"')[1].split("</div>")[0]
    assert "merged from shards 0/3, 1/3, 2/3 of 3" in problems
    published = publish(path, "sharded", tmp_path / "results")
    summary = (published.parent / "run.json").read_text()
    assert BASE.format(4) in summary and "shard=" not in summary


@pytest.mark.slow
def test_a_real_sharded_run_merges_to_the_unsharded_run(tmp_path):
    """`benchopt run` on a generated fastMRI tree (3 test volumes) with the
    shards 0/3, 1/3, 2/3 and the whole split 0/1: the merged shards' final
    metrics are the whole split's. xpdnet trains on shard 0/3; the other
    shards (and 0/1) reuse its checkpoint."""
    from benchmark_mri.data.fake_fastmri import make_tree

    from ..conftest import benchopt_run

    root = make_tree(tmp_path / "fastmri")
    output = tmp_path / "sharded.parquet"
    proc = benchopt_run(
        "-o", "MRI reconstruction[smaps=acs]",
        "-d", "fastmri_knee[n_train_volumes=1,n_test_volumes=3,n_slices=2,"
        "shard=['0/3','1/3','2/3','0/1']]",
        "-s", "zero_filled", "-s", "xpdnet[n_epochs=1]", output=output,
        env={"FASTMRI_ROOT": root, "BENCHMARK_MRI_CHECKPOINTS": tmp_path / "ckpt"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = load_run(output)
    whole, merged = sorted(run.groups, key=lambda g: "shard=0/1" not in g.subtitle)
    assert "shard=" not in merged.subtitle
    finals = {}
    for group in (whole, merged):
        last = group.frame.groupby("solver_name").tail(1).set_index("solver_name")
        finals[group is merged] = last
    columns = [f"objective_{m}{s}" for m in METRICS for s in ("", "_std")]
    assert set(finals[True].index) == set(finals[False].index)
    for solver in finals[True].index:
        np.testing.assert_allclose(finals[True].loc[solver, columns].astype(float),
                                   finals[False].loc[solver, columns].astype(float),
                                   rtol=0, atol=1e-6, err_msg=solver)
        assert finals[True].loc[solver, "objective_n_scored"] == 3
    assert any("reused the checkpoint of shard 0/3" in p for p in run.problems)


def test_without_n_scored_the_shards_weigh_equally_and_it_is_said():
    frame, scores = run_once_frame()
    merged, notes = merge_shards(frame.drop(columns=["objective_n_scored"]))
    (point,) = [r for _, r in merged.iterrows()]
    means = [np.mean(part["psnr"]) for part in cut(scores["zero_filled", 4])]
    assert point["objective_psnr"] == pytest.approx(np.mean(means), abs=1e-12)
    assert any("no objective_n_scored column" in n for n in notes)
