"""LOUPE: the relaxation at the budget, the joint step, the fully sampled
training view, and the run that proposes its mask to the objective."""

import numpy as np
import pytest
import torch

from benchmark_mri.data import phantom_volumes
from benchmark_mri.data.acquisition import Acquisition
from benchmark_mri.data.split import as_split, make_split
from benchmark_mri.learned import Training, TrainSettings, model_config
from benchmark_mri.learned.data import training_batches
from benchmark_mri.learned.losses import get_loss
from benchmark_mri.learned.loupe import (
    FullySampled,
    LoupeConfig,
    LoupeModel,
    loupe_step,
    skip_reason,
    widths,
)
from benchmark_mri.learned.loupe_run import LoupeRun
from benchmark_mri.metrics import evaluate_volumes
from benchmark_mri.physics import CartesianSampling

SAMPLING = CartesianSampling("random", 4)
SHAPE = dict(image_size=32, n_coils=2, n_slices=2)
UNET = model_config("unet", channels=4, n_pools=2)


def config(network=UNET, width=32, **kwargs):
    return LoupeConfig(network=network, acceleration=4, center_fraction=0.08,
                       widths=(width,), **kwargs)


def splits(n_train=2, n_test=2):
    test = make_split(phantom_volumes("test", n_test, 0, **SHAPE), SAMPLING, False)
    train = make_split(phantom_volumes("train", n_train, 0, **SHAPE), SAMPLING, True)
    return train, Acquisition(test, SAMPLING), test


@pytest.mark.parametrize("width", [32, 128, 368])
def test_probabilities_meet_the_budget_and_the_mask_takes_the_most_probable(width):
    model = LoupeModel(config(width=width, logit_lr_factor=1.0))
    start, stop = model.config.acs(width)
    assert (start, stop) == SAMPLING.acs_columns(width)
    p = model.probabilities(width)
    assert p.shape == (width,) and (p[start:stop] == 1).all()
    # The expected count is the budget: ceil(W / R) columns, ACS included.
    assert float(p.detach().sum()) == pytest.approx(SAMPLING.max_columns(width),
                                                    rel=1e-5)
    for low in (True, False):  # both branches of LOUPE's rescaling
        with torch.no_grad():
            model.logits[str(width)].fill_(-0.3 if low else 0.3)
        assert float(model.probabilities(width).detach().sum()) == pytest.approx(
            SAMPLING.max_columns(width), rel=1e-5)
    with torch.no_grad():
        model.logits[str(width)].copy_(torch.linspace(-1, 1, width))
    mask = model.mask_columns(width)
    assert int(mask.sum()) == SAMPLING.max_columns(width) and mask[start:stop].all()
    outside = torch.cat([torch.arange(start), torch.arange(stop, width)])
    budget = SAMPLING.max_columns(width) - (stop - start)
    # The highest logits, those of the last columns, are chosen.
    assert torch.equal(outside[mask[outside]], outside[-budget:])
    relaxed = model.relaxed_mask(width, 3)
    assert relaxed.shape == (3, 1, 1, width) and (relaxed[..., start:stop] == 1).all()
    assert ((relaxed > 0) & (relaxed < 1)).any()


def test_a_width_without_budget_and_a_bad_network_are_refused():
    with pytest.raises(ValueError, match="a 32-column k-space at acceleration 8 "
                                         "leaves no budget beyond its 6 ACS columns"):
        LoupeConfig(acceleration=8, center_fraction=0.2, widths=(32,))
    with pytest.raises(ValueError, match="network takes a U-Net or XPDNet config"):
        LoupeConfig(network=model_config("rim"))
    model = LoupeModel(config())
    with pytest.raises(ValueError, match="learned masks of widths \\(32,\\); a "
                                         "64-column k-space has none"):
        model.probabilities(64)


def test_the_joint_step_trains_the_logits_and_the_network():
    train, _, _ = splits()
    view = FullySampled(train)
    for network in (UNET, model_config("xpdnet", n_iter=1)):
        torch.manual_seed(0)
        model = LoupeModel(config(network))
        loss_fn = get_loss("l1")
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        losses = []
        for _ in range(6):
            for batch in training_batches(view, 2, torch.Generator().manual_seed(0)):
                optimizer.zero_grad()
                loss = loupe_step(model, batch, loss_fn)
                loss.backward()
                grad = model.logits["32"].grad
                assert grad is not None and torch.isfinite(grad).all()
                assert grad.abs().sum() > 0
                optimizer.step()
                losses.append(float(loss.detach()))
        assert np.mean(losses[-4:]) < np.mean(losses[:4])


def test_the_fully_sampled_view_reads_training_slices_whole():
    train, _, _ = splits()
    view = FullySampled(train)
    full = phantom_volumes("train", 2, 0, **SHAPE)
    item = view.training_slice(1, 0)
    assert torch.equal(item["y"], full[1].kspace[0])
    assert item["mask"].all() and torch.equal(item["target"], full[1].target[0])
    # ACS maps from the dataset's ACS columns only (unit RSS where there is signal).
    assert item["smaps"].shape == item["y"].shape
    assert view.with_smaps("acs") is view and view.has_targets
    other = FullySampled(make_split(phantom_volumes("train", 2, 1, **SHAPE),
                                    SAMPLING, True))
    assert view.fingerprint() != other.fingerprint()
    random8 = make_split(full, CartesianSampling("equispaced", 4), True)
    assert FullySampled(random8).fingerprint() == view.fingerprint()  # mask-free
    with pytest.raises(ValueError, match="draws no masks"):
        view.training_slice(0, 0, draw="x")


def test_loupe_proposes_its_mask_within_the_budget_and_learns(tmp_path):
    """A tiny run: every point re-measures the test split with the mask of
    that moment; the last one is within the budget, the metrics improve on
    the untrained point, and a second run reuses both checkpoints."""
    train, acquisition, raw = splits()
    test = acquisition.split()
    cfg = model_config("loupe", network=UNET, acceleration=4, center_fraction=0.08,
                       widths=widths(train))
    settings = TrainSettings(n_epochs=3, lr=3e-3, batch_size=2)

    def run_once():
        torch.manual_seed(0)
        joint = Training("loupe", cfg, FullySampled(train), settings,
                         step_fn=loupe_step, cache_dir=tmp_path)
        run = LoupeRun(joint, train, test, finetune_epochs=2)
        points = []

        def callback():
            result = run.result()
            scores = evaluate_volumes(raw.targets(), result["recon"])
            points.append((acquisition.record(), result, np.mean(scores["psnr"])))
            return True

        run.run(callback)
        return points

    points = run_once()
    assert len(points) == 1 + 3 + 2
    for record, result, _ in points:
        assert record == {"sampled_fraction": 8 / 32, "solver_mask": 1}
        assert result["learned_columns"] == 8
    final = points[-1][1]
    assert final["train_epochs"] == 5 and final["finetune_epochs"] == 2
    assert final["train_time_s"] > 0 and final["train_peak_memory_mb"] > 0
    assert final["reused_checkpoint"] == 0 and final["training_diverged"] == 0
    mask = np.array([c == "1" for c in final["learned_mask"].split(":")[1]])
    assert mask.sum() == 8 and mask[15:18].all()
    assert (acquisition.gallery_masks(1)[0][0] == mask).all()
    assert len(final["sampling_probabilities"].split(":")[1].split(",")) == 32
    assert points[-1][2] > points[0][2] + 1  # dB over the untrained point
    again = run_once()
    assert len(again) == 1 and again[0][1]["reused_checkpoint"] == 1
    assert again[0][1]["learned_mask"] == final["learned_mask"]
    assert torch.equal(again[0][1]["recon"][0], final["recon"][0])


def test_loupe_refuses_what_it_cannot_do():
    train, acquisition, _ = splits()
    joint = Training("loupe", config(), FullySampled(train), TrainSettings(n_epochs=1))
    with pytest.raises(ValueError, match="finetune_epochs must be an integer >= 0"):
        LoupeRun(joint, train, acquisition.split(), finetune_epochs=-1)
    plain = Training("unet", UNET, train, TrainSettings(n_epochs=1))
    with pytest.raises(TypeError, match="trains a LoupeModel"):
        LoupeRun(plain, train, acquisition.split())
    with pytest.raises(ValueError, match="no fully sampled volume"):
        FullySampled(as_split(list(train)))


def test_the_logits_learn_logit_lr_factor_times_faster():
    """Stored divided by the factor: the same initial probabilities, and an
    Adam step moves a logit by about factor x lr."""
    torch.manual_seed(0)
    slow = LoupeModel(config(logit_lr_factor=1.0))
    torch.manual_seed(0)
    fast = LoupeModel(config(logit_lr_factor=50.0))
    assert torch.allclose(slow.probabilities(32), fast.probabilities(32), atol=1e-6)
    moves = []
    for model in (slow, fast):
        before = model.logit(32).detach().clone()
        optimizer = torch.optim.Adam(model.logits.parameters(), lr=1e-3)
        model.probabilities(32)[:10].sum().backward()
        optimizer.step()
        moves.append(float((model.logit(32).detach() - before).abs().max()))
    assert moves[0] == pytest.approx(1e-3, rel=0.01)
    assert moves[1] == pytest.approx(50e-3, rel=0.01)
    with pytest.raises(ValueError, match="logit_lr_factor must be > 0"):
        config(logit_lr_factor=0)


def test_a_training_does_not_depend_on_what_the_process_ran_before():
    """The relaxed masks are drawn from the model's own generator, seeded when
    the lifecycle builds it: the global generator's state does not matter."""
    train, _, _ = splits()
    weights = []
    for state in (1, 2):
        torch.manual_seed(state)  # what ran before
        joint = Training("loupe", config(), FullySampled(train),
                         TrainSettings(n_epochs=1, lr=3e-3, batch_size=2),
                         step_fn=loupe_step, log=lambda *_: None)
        joint.run()
        weights.append(torch.cat([p.detach().flatten()
                                  for p in joint.model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_loupe_refuses_a_training_sampling_of_its_own():
    """train_acceleration / train_mask_type (every learned solver's) do not
    apply: loupe learns its mask at the dataset's budget."""
    from types import SimpleNamespace

    train, acquisition, _ = splits()
    solver = SimpleNamespace(network="unet", train_masks="fixed",
                             train_acceleration=8, train_mask_type=None)
    with pytest.raises(ValueError, match="loupe: train_acceleration=8 does not apply"):
        skip_reason(solver, acquisition.split(), train)
    solver.train_acceleration = None
    assert skip_reason(solver, acquisition.split(), train) == (False, None)
