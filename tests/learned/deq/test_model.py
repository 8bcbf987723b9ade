"""The DEQ-MRI model: shapes, contraction, convergence reporting, NaN, memory."""

import weakref

import pytest
import torch

from benchmark_mri.learned import model_config
from benchmark_mri.learned.deq import (
    BACKWARD_MODES,
    DEQConfig,
    DEQConvergenceWarning,
    DEQDivergedError,
    DEQRecon,
    deq_step,
)
from benchmark_mri.learned.deq.model import to_complex
from benchmark_mri.learned.memory import saved_tensors_mb
from benchmark_mri.learned.training import Trainer, TrainingDiverged, TrainSettings
from benchmark_mri.learned.xpdnet import XPDNet

from ..conftest import tiny_split
from .problems import hard_model, loss_fn, tiny_slices


def small(**changes):
    return DEQRecon(DEQConfig(channels=4, **changes))


@pytest.mark.parametrize("mode", BACKWARD_MODES)
def test_forward_and_backward_of_every_mode(mode):
    y, physics, target = tiny_slices()
    model = small(backward=mode)
    x = model(y, physics)
    assert x.shape == (2, 16, 16) and x.dtype == torch.complex64
    loss_fn(x, target).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    info = model.last_info
    assert info["forward_converged"] and info["forward_iterations"] >= 1
    assert info["implicit_backward_time_s"] >= 0
    assert (info["backward_iterations"] > 0) == (mode in ("ift", "shine_refine"))


def test_inference_needs_no_graph_and_n_iter_sets_the_iteration_limit():
    y, physics, _ = tiny_slices()
    model = small()
    with torch.no_grad(), pytest.warns(DEQConvergenceWarning, match="did not converge"):
        x = model(y, physics, n_iter=1, tol=1e-12)
    assert not x.requires_grad
    assert model.last_info["forward_iterations"] == 1
    assert model.last_info["forward_converged"] is False


def jacobian_norm(model, y, physics):
    """max over the batch of ||J_f|| at a random point, by power iteration on
    J_f^T J_f."""
    f, z0 = model.equilibrium_map(y, physics)
    z = (z0 + 0.3 * torch.randn_like(z0)).requires_grad_()
    fz = f(z)
    v = torch.randn_like(z)
    for _ in range(30):
        jv = torch.autograd.functional.jvp(f, z.detach(), v)[1]
        v = torch.autograd.grad(fz, z, jv, retain_graph=True)[0]
        norm_sq = v.norm(dim=1, keepdim=True)
        v = v / norm_sq
    return float(norm_sq.max().sqrt())


def test_the_map_is_a_contraction_of_the_configured_factor():
    """||J_f|| stays below the contraction factor (with 5% slack for the
    power-iteration estimate of each layer's norm): for large random weights
    that the spectral normalisation has to tame, and for a regulariser close
    to the identity, where the bound is nearly reached."""
    y, physics, _ = tiny_slices()
    model = small(contraction=0.8)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(20)
        for layer in model.regulariser.layers:
            for _ in range(50):
                layer._power_step()
    model.eval()
    random_norm = jacobian_norm(model, y, physics)
    y, physics, _ = tiny_slices(dtype=torch.complex128)
    near_identity = jacobian_norm(hard_model(contraction=0.8), y, physics)
    print(f"\n||J_f|| = {random_norm:.3f} (large random weights), "
          f"{near_identity:.3f} (near-identity regulariser); contraction 0.8")
    assert random_norm < 0.8 * 1.05
    assert 0.7 < near_identity < 0.8 * 1.05


def test_nan_weights_stop_with_a_clear_message():
    y, physics, _ = tiny_slices()
    model = small()
    with torch.no_grad():
        model.regulariser.inject.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(DEQDivergedError, match="NaN/inf.*training stops"):
        model(y, physics)


@pytest.mark.parametrize("changes, message", [
    (dict(backward="adjoint"), "Unknown backward 'adjoint'"),
    (dict(forward_solver="newton"), "Unknown forward_solver 'newton'"),
    (dict(backward="shine", forward_solver="anderson"),
     "needs forward_solver='broyden'"),
    (dict(contraction=1.0), "contraction must be in \\(0, 1\\)"),
    (dict(step_size=3.0), "step_size must be in \\(0, 2\\]"),
    (dict(backward="jfb", opa_every=2), "opa_every=2 .* needs backward in"),
    (dict(backward="shine", opa_every=0), "opa_every must be a positive integer"),
    (dict(forward_max_iter=0), "forward_max_iter must be >= 1"),
])
def test_bad_config_names_the_parameter(changes, message):
    with pytest.raises(ValueError, match=message):
        DEQConfig(**changes)


def test_training_memory_does_not_grow_with_forward_iterations_unlike_xpdnet():
    """The shared meter (memory.saved_tensors_mb, what the Trainer reports):
    the DEQ at 2/8/32 forward iterations, the same map unrolled, and XPDNet
    unrolled 1/2/4 times, on the same slices."""
    y, physics, target = tiny_slices()
    model = small(backward="shine", forward_memory=10)

    def deq(n_iter):
        def run():
            # tol=1e-12: every solve runs exactly n_iter iterations.
            with pytest.warns(DEQConvergenceWarning):
                return loss_fn(model(y, physics, n_iter=n_iter, tol=1e-12), target)
        return run

    def unrolled(n_iter):
        def run():
            f, z = model.equilibrium_map(y, physics)
            for _ in range(n_iter):
                z = f(z)
            return loss_fn(to_complex(z.view(2, 2, 16, 16)), target)
        return run

    deq_mb, qn_bytes, unrolled_mb, xpdnet_mb = [], [], [], []
    for n_iter in (2, 8, 32):
        deq_mb.append(saved_tensors_mb(deq(n_iter)))
        qn_bytes.append(model.last_info["quasi_newton_bytes"])
        unrolled_mb.append(saved_tensors_mb(unrolled(n_iter)))
    for n_iter in (1, 2, 4):
        torch.manual_seed(0)
        xpdnet = XPDNet(model_config("xpdnet", n_iter=n_iter))
        xpdnet_mb.append(saved_tensors_mb(
            lambda model=xpdnet: loss_fn(model(y, physics), target)))
    print("\nsaved tensors (MB): DEQ at 2/8/32 forward iterations "
          f"{[round(v, 3) for v in deq_mb]} (+ Broyden buffers {qn_bytes} bytes); "
          f"the same map unrolled 2/8/32 times {[round(v, 3) for v in unrolled_mb]}; "
          f"XPDNet unrolled 1/2/4 times {[round(v, 3) for v in xpdnet_mb]}")
    assert len(set(deq_mb)) == 1 and len(set(qn_bytes)) == 1
    # Unrolled: linear in the iterations (the same for each extra one).
    per_iter = (unrolled_mb[1] - unrolled_mb[0]) / 6
    assert per_iter > 0
    assert unrolled_mb[2] - unrolled_mb[1] == pytest.approx(24 * per_iter, rel=0.05)
    assert deq_mb[0] < unrolled_mb[1]
    assert xpdnet_mb[0] < xpdnet_mb[1] < xpdnet_mb[2]
    assert xpdnet_mb[2] - xpdnet_mb[1] == pytest.approx(
        2 * (xpdnet_mb[1] - xpdnet_mb[0]), rel=0.1)


def test_each_training_step_records_its_forward_and_backward():
    y, physics, target = tiny_slices()
    model = small(backward="ift")
    for _ in range(2):
        loss_fn(model(y, physics), target).backward()
    assert len(model.history) == 2
    step = model.history[-1]
    assert step["backward_time_s"] >= step["implicit_backward_time_s"] > 0
    assert step["backward_iterations"] > 0 and step["forward_iterations"] > 0


def test_nan_in_the_implicit_backward_stops_training_with_a_clear_message():
    y, physics, target = tiny_slices()
    model = small(backward="jfb")
    x = model(y, physics)
    with pytest.raises(TrainingDiverged, match="implicit backward \\(jfb\\)"):
        (x.abs().sum() * float("nan")).backward()


def test_a_few_steps_of_the_shared_trainer_lower_the_loss():
    train, _ = tiny_split(n_train=1)
    model = small(backward="shine_fallback")
    trainer = Trainer(model, train, TrainSettings(n_epochs=1, lr=3e-3, batch_size=2))
    losses = [trainer.epoch() for _ in range(6)]
    assert losses[-1] < losses[0]
    assert len(model.history) == 6


def test_outer_problem_awareness_needs_the_loss_which_deq_step_lends():
    y, physics, target = tiny_slices()
    model = small(backward="shine", opa_every=1)
    with pytest.raises(ValueError, match="Train with step_fn=deq_step"):
        model(y, physics)
    with torch.no_grad():  # inference: no OPA, no loss needed
        model(y, physics)
    train, _ = tiny_split(n_train=1)
    trainer = Trainer(model, train, TrainSettings(n_epochs=1, lr=3e-3, batch_size=2),
                      step_fn=deq_step)
    losses = [trainer.epoch() for _ in range(4)]
    assert losses[-1] < losses[0]
    assert all(h["opa_products"] >= 1 for h in model.history)
    assert model.outer_loss is None  # lent for the step only


def peak_live_saved_mb(fn):
    """Peak MB of the tensors saved for backward that are alive at the same
    time while fn() runs (storages counted once, released when the last
    tensor saved on them dies). Unlike saved_tensors_mb, which adds up every
    tensor saved during fn(), it sees graphs that are built and freed in turn,
    like OPA's inside the forward solve."""
    state = {"now": 0, "peak": 0, "refs": {}}

    def release(ptr, nbytes):
        state["refs"][ptr] -= 1
        if state["refs"][ptr] == 0:
            state["now"] -= nbytes

    def pack(t):
        storage = t.untyped_storage()
        ptr, nbytes = storage.data_ptr(), storage.nbytes()
        if state["refs"].get(ptr, 0) == 0:
            state["now"] += nbytes
            state["peak"] = max(state["peak"], state["now"])
        state["refs"][ptr] = state["refs"].get(ptr, 0) + 1
        weakref.finalize(t, release, ptr, nbytes)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return state["peak"] / 2**20


def test_outer_problem_awareness_keeps_training_memory_flat():
    y, physics, target = tiny_slices()
    peaks = {}
    for opa_every in (None, 1):
        model = small(backward="shine", forward_memory=10, opa_every=opa_every)
        model.outer_loss = lambda x: loss_fn(x, target)

        def run(n_iter, model=model):
            with pytest.warns(DEQConvergenceWarning):
                loss_fn(model(y, physics, n_iter=n_iter, tol=1e-12), target)

        peaks[opa_every] = [round(peak_live_saved_mb(lambda n=n: run(n)), 4)
                            for n in (2, 8, 32)]
        updates = model.last_info["opa_products"]
    print(f"\npeak live saved tensors (MB) at 2/8/32 forward iterations: shine "
          f"{peaks[None]}, shine + OPA every iteration {peaks[1]} ({updates} "
          "updates at 32)")
    assert updates == 31
    assert len(set(peaks[None])) == 1 and peaks[1] == peaks[None]
