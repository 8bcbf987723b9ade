"""Memory-efficient training: gradient checkpointing, GLEAM's greedy modules,
the layer-wise CNN, and their bad inputs (CPU, tiny phantoms)."""

import pytest
import torch

from benchmark_mri.learned import (
    LearnedRun,
    Trainer,
    Training,
    TrainSettings,
    build_model,
    default_step,
    get_loss,
    make_batch,
    model_config,
    saved_tensors_mb,
)
from benchmark_mri.learned.rim import rim_step
from benchmark_mri.learned.xpdnet import greedy_step

from .conftest import tiny_split

L1 = get_loss("l1")


@pytest.fixture(scope="module")
def batch():
    m = tiny_split(n_train=1)[0][0]
    return make_batch(m.y, m.mask, m.smaps, m.target)


def _model(name, dtype=torch.float32, **overrides):
    torch.manual_seed(0)
    model = build_model(model_config(name, **overrides))
    with torch.no_grad():  # move off the zero-initialised last layers
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model.to(dtype).train()


def _step(model, batch, step_fn):
    """(saved_tensors_mb, loss value, {name: grad}) of one training step."""
    out = {}
    mb = saved_tensors_mb(lambda: out.update(loss=step_fn(model, batch, L1)))
    out["loss"].backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return mb, float(out["loss"].detach()), grads


def _double(batch):
    return make_batch(batch.y.to(torch.complex128), batch.physics.mask,
                      batch.physics.smaps.to(torch.complex128),
                      batch.target.double())


@pytest.mark.parametrize("name, step_fn, depth", [
    ("xpdnet", default_step, dict(n_iter=4)),
    ("rim", rim_step, dict(n_steps=4)),
])
def test_checkpoint_gives_the_same_gradients_with_less_memory(batch, name, step_fn,
                                                              depth):
    """float64: gradients equal to 1e-10 relative; float32 (what training
    uses): to 1e-5 relative (the recomputation is bitwise the same on a CPU)."""
    for dtype, batch_, tol in ((torch.float64, _double(batch), 1e-10),
                               (torch.float32, batch, 1e-5)):
        e2e = _step(_model(name, dtype, **depth), batch_, step_fn)
        ckpt = _step(_model(name, dtype, training="checkpoint", **depth), batch_,
                     step_fn)
        assert ckpt[1] == pytest.approx(e2e[1], rel=1e-12)
        assert e2e[2].keys() == ckpt[2].keys() and len(e2e[2]) > 4
        for key, g in e2e[2].items():
            err = (ckpt[2][key] - g).abs().max() / g.abs().max().clamp_min(1e-30)
            assert err < tol, (dtype, key, float(err))
        print(f"{name} {dtype}: saved tensors end_to_end {e2e[0]:.3f} MB, "
              f"checkpoint {ckpt[0]:.3f} MB")
        assert ckpt[0] < 0.4 * e2e[0]


@pytest.mark.parametrize("modules", [2, 4])
def test_greedy_keeps_one_module_of_activations(batch, modules):
    """Activations saved (the weights excluded: every strategy holds them) are
    1/M of end-to-end's; the reported meter (weights included) is below."""
    e2e_model = _model("xpdnet", n_iter=4)
    greedy_model = _model("xpdnet", n_iter=4, training="greedy", greedy_modules=modules)

    def activations(model, step_fn):
        return saved_tensors_mb(lambda: step_fn(model, batch, L1).backward(),
                                exclude=list(model.parameters()))

    e2e = activations(e2e_model, default_step)
    greedy = activations(greedy_model, greedy_step)
    print(f"activations saved: end_to_end {e2e:.3f} MB, greedy M={modules} "
          f"{greedy:.3f} MB")
    assert greedy == pytest.approx(e2e / modules, rel=0.1)
    reported = _step(_model("xpdnet", n_iter=4, training="greedy",
                            greedy_modules=modules), batch, greedy_step)[0]
    assert reported < _step(_model("xpdnet", n_iter=4), batch, default_step)[0]


def test_greedy_gradients_stop_at_module_boundaries(batch):
    """Each module's weights get the gradient of its own loss only: module 1's
    (iterations 0-1) equal those of a 2-iteration network's loss, module 2's
    (iterations 2-3) those of its loss with its input buffer a constant."""
    greedy = _model("xpdnet", n_iter=4, training="greedy", greedy_modules=2)
    _, _, grads = _step(greedy, batch, greedy_step)
    assert [list(r) for r in greedy.module_ranges()] == [[0, 1], [2, 3]]
    first = _model("xpdnet", n_iter=4)  # the same weights, end to end
    first.zero_grad()
    x = first(batch.y, batch.physics, n_iter=2)
    L1(x.abs(), batch.target).backward()
    for name, p in first.named_parameters():
        if name.startswith(("blocks.0.", "blocks.1.")) and p.grad is not None:
            assert torch.allclose(grads[name], p.grad, rtol=1e-5, atol=1e-8), name
    # Module 2's loss reaches no weight of module 1: backpropagating the last
    # module's loss alone leaves module 1's gradients None.
    greedy.zero_grad(set_to_none=True)
    outputs = list(greedy.module_outputs(batch.y, batch.physics))
    L1(outputs[-1][0].abs(), batch.target).backward()
    assert all(p.grad is None for n, p in greedy.named_parameters()
               if n.startswith(("blocks.0.", "blocks.1.")))
    assert any(p.grad is not None for n, p in greedy.named_parameters()
               if n.startswith("blocks.3."))


def test_greedy_and_checkpoint_train_and_infer_like_end_to_end(batch):
    """Inference is unchanged (same weights, same output), and a few greedy /
    checkpointed steps lower the loss through the shared Trainer."""
    models = {t: _model("xpdnet", n_iter=3, training=t)
              for t in ("end_to_end", "checkpoint", "greedy")}
    outs = [m.eval()(batch.y, batch.physics) for m in models.values()]
    assert all(torch.equal(outs[0], o) for o in outs[1:])
    train, _ = tiny_split(n_train=1)
    for training, step_fn in (("greedy", greedy_step), ("checkpoint", default_step)):
        torch.manual_seed(0)
        model = build_model(model_config("xpdnet", n_iter=2, training=training))
        trainer = Trainer(model, train, TrainSettings(lr=3e-3, batch_size=1),
                          step_fn=step_fn)
        losses = [trainer.epoch() for _ in range(4)]
        assert losses[-1] < 0.95 * losses[0], (training, losses)


def test_greedy_forward_in_training_asks_for_its_step(batch):
    model = _model("xpdnet", n_iter=2, training="greedy")
    with pytest.raises(RuntimeError, match="use step_fn=greedy_step"):
        model(batch.y, batch.physics)


@pytest.mark.parametrize("name, overrides, message", [
    ("xpdnet", dict(training="gleam"),
     r"xpdnet: unknown training='gleam': use one of \['end_to_end', 'checkpoint', "
     r"'greedy'\]"),
    ("xpdnet", dict(training="greedy", greedy_modules=4, n_iter=3),
     r"greedy_modules=4 must be an integer from 1 to n_iter=3"),
    ("xpdnet", dict(training="greedy", greedy_modules=0),
     r"greedy_modules=0 must be an integer from 1 to n_iter=3"),
    ("xpdnet", dict(training="greedy", shared_weights=True),
     r"training='greedy' needs modules with their own weights"),
    ("rim", dict(training="greedy"),
     r"rim: training='greedy' needs modules with their own weights"),
    ("rim", dict(training="gleam"), r"rim: unknown training='gleam'"),
    ("layerwise", dict(n_blocks=0), r"layerwise: n_blocks must be an integer >= 1"),
    ("layerwise", dict(kernel_size=4), r"layerwise: kernel_size must be odd"),
])
def test_bad_training_inputs_say_what_to_use(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        model_config(name, **overrides)


def test_greedy_modules_is_ignored_without_greedy():
    assert model_config("xpdnet", n_iter=1, greedy_modules=5).n_iter == 1


def test_layerwise_trains_block_by_block(batch):
    """Block b trains in epochs [b E, (b + 1) E): the others do not move; the
    step's saved tensors are one block's (the frozen ones keep no graph);
    the stage is saved in the state dict."""
    train, test = tiny_split(n_train=1)
    config = model_config("layerwise", n_blocks=3, width=8, epochs_per_block=1)
    run = LearnedRun(Training("layerwise", config, train,
                              TrainSettings(n_epochs=config.n_epochs, lr=3e-3,
                                            batch_size=2, loss="l2"),
                              device="cpu", log=lambda *a: None), test)
    model = run.model
    snapshots = []

    def callback():
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return True

    run.run(callback)
    assert len(snapshots) == config.n_epochs + 1 and int(model.stage) == 2
    for epoch in range(3):
        before, after = snapshots[epoch], snapshots[epoch + 1]
        moved = {k.split(".")[:2][1] for k in before
                 if k.startswith(("blocks.", "heads.")) and
                 not torch.equal(before[k], after[k])}
        assert moved == {str(epoch)}, (epoch, moved)
    assert "stage" in run.training.checkpoint()["state_dict"]
    result = run.result()
    assert result["train_time_per_epoch_s"] == pytest.approx(
        result["train_time_s"] / 3)
    # Memory: a stage saves its block's input and output feature maps (the
    # frozen blocks keep no graph), end-to-end every block's: 2 maps against 6.
    deep = build_model(model_config("layerwise", n_blocks=6, width=16)).train()
    deep.stage.fill_(5)
    e2e = build_model(model_config("layerwise", n_blocks=6, width=16,
                                   end_to_end=True)).train()
    mb = [saved_tensors_mb(lambda m=m: default_step(m, batch, L1),
                           exclude=list(m.parameters())) for m in (deep, e2e)]
    print(f"layer-wise stage 6 of 6: {mb[0]:.3f} MB saved, end-to-end {mb[1]:.3f} MB")
    assert mb[0] < 0.5 * mb[1], mb


def test_layerwise_untrained_returns_the_sense_adjoint_and_test_depths(batch):
    model = build_model(model_config("layerwise", n_blocks=3, width=8)).eval()
    x = model(batch.y, batch.physics)
    assert torch.allclose(x, batch.physics.adjoint(batch.y), atol=1e-6)
    for n_iter in (1, 2, 3):
        assert model(batch.y, batch.physics, n_iter=n_iter).shape == x.shape
    with pytest.raises(ValueError, match="layerwise: n_iter=4 is out of range"):
        model(batch.y, batch.physics, n_iter=4)
