"""Deep equilibrium MRI reconstruction (DEQ-MRI), trained with an implicit backward.

The reconstruction is the fixed point z* = f(z*; y) of one learned step
(Gilton, Ongie & Willett, "Deep equilibrium architectures for inverse problems
in imaging", IEEE TCI 2021, the "DE-Prox" form, with input injection):

    f(z) = G(rho * N(z; x0)),   G(x) = x - eta A^H (A x - y),   x0 = A^H y,

A the SENSE operator of the slice (coil maps normalised so ||A^H A|| <= 1),
N the CNN of regulariser.py (1-Lipschitz in z), rho < 1 the contraction
factor and eta in (0, 2] the data-consistency step, so that G is
non-expansive and f is a rho-contraction: the fixed point exists and is
unique. y comes normalised per slice (max |A^H y| = 1, learned/data.py).

The forward solve (Broyden or Anderson) runs without autograd; training
re-applies f once at z* and replaces the gradient flowing into it by the
implicit one (backward.py), so training memory does not depend on the
number of forward iterations. SHINE (Ramzi et al., ICLR 2022) reuses the
Broyden inverse estimate there.
"""

import time
import warnings
from dataclasses import dataclass, fields

import torch
from torch import nn

from ..data import magnitude
from ..training import TrainingDiverged, default_step
from .backward import MODES, NEEDS_INVERSE, BackwardConfig, implicit_direction
from .fixed_point import SOLVERS
from .regulariser import Regulariser


class DEQConvergenceWarning(UserWarning):
    """A forward fixed-point solve stopped at its iteration limit."""


class DEQDivergedError(TrainingDiverged):
    """The fixed-point solve or the implicit backward produced NaN or inf:
    the training run stops (the shared Trainer / LearnedRun catch it)."""


@dataclass(frozen=True)
class DEQConfig:
    """Every default of the DEQ lives here.

    channels, n_layers: the regulariser CNN. contraction: rho in (0, 1).
    step_size: eta in (0, 2]. forward_solver: "broyden" or "anderson";
    forward_tol: relative residual ||f(z) - z|| / ||f(z)|| to stop at;
    forward_max_iter: iteration limit (the `n_iter` of the model call
    overrides it at inference); forward_memory: Broyden's rank / Anderson's
    history. backward: one of backward.MODES; backward_tol, backward_max_iter:
    the adjoint solve of "ift" (and of the refinement); refine_steps:
    "shine_refine"'s quasi-Newton steps; fallback_ratio: "shine_fallback"'s
    threshold. opa_every: SHINE's outer-problem awareness (Ramzi et al. 2022,
    section 3): during training, every `opa_every`-th forward Broyden
    iteration adds one adjoint Broyden update of the inverse estimate in the
    direction of the outer loss's gradient (see `_opa_update`); None: off.
    Needs a SHINE backward and the training loss during the forward
    (`deq_step`).
    """

    channels: int = 32
    n_layers: int = 3
    contraction: float = 0.9
    step_size: float = 1.0
    forward_solver: str = "broyden"
    forward_tol: float = 1e-4
    forward_max_iter: int = 30
    forward_memory: int = 30
    backward: str = "shine"
    backward_tol: float = 1e-6
    backward_max_iter: int = 100
    refine_steps: int = 5
    fallback_ratio: float = 1.3
    opa_every: int | None = None

    def __post_init__(self):
        if self.forward_solver not in SOLVERS:
            raise ValueError(
                f"Unknown forward_solver {self.forward_solver!r}: use one of "
                f"{tuple(SOLVERS)}."
            )
        if self.backward not in MODES:
            raise ValueError(f"Unknown backward {self.backward!r}: use one of {MODES}.")
        if self.backward in NEEDS_INVERSE and self.forward_solver != "broyden":
            raise ValueError(
                f"backward={self.backward!r} reuses Broyden's inverse estimate: "
                "it needs forward_solver='broyden'."
            )
        if not 0 < self.contraction < 1:
            raise ValueError(f"contraction must be in (0, 1) (got {self.contraction}).")
        if not 0 < self.step_size <= 2:
            raise ValueError(f"step_size must be in (0, 2] (got {self.step_size}).")
        if self.opa_every is not None:
            if self.backward not in NEEDS_INVERSE:
                raise ValueError(
                    f"opa_every={self.opa_every} improves the inverse estimate "
                    f"that SHINE reuses: it needs backward in {NEEDS_INVERSE} "
                    f"(got {self.backward!r})."
                )
            if not (isinstance(self.opa_every, int) and self.opa_every >= 1):
                raise ValueError(
                    f"opa_every must be a positive integer or None (got "
                    f"{self.opa_every!r})."
                )
        for name in ("forward_max_iter", "forward_memory", "backward_max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (got {getattr(self, name)}).")

    def backward_config(self) -> BackwardConfig:
        return BackwardConfig(
            mode=self.backward, tol=self.backward_tol,
            max_iter=self.backward_max_iter, memory=self.forward_memory,
            refine_steps=self.refine_steps, fallback_ratio=self.fallback_ratio,
        )

    def replace(self, **changes) -> "DEQConfig":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return DEQConfig(**{**values, **changes})



PRESETS = {
    # What the benchmark runs (solvers/deq_shine.py): trains in a minute on
    # the CPU phantom.
    "cpu_small": DEQConfig(channels=16, forward_max_iter=20,
                           backward="shine_fallback"),
}

def to_real(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W) complex -> (B, 2, H, W) real."""
    return torch.view_as_real(x).permute(0, 3, 1, 2)


def to_complex(z: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) real -> (B, H, W) complex."""
    return torch.complex(z[:, 0], z[:, 1])


class _State:
    """What the implicit backward needs: f(z*) with its graph, the leaf z*,
    Broyden's inverse estimate (SHINE modes), and the step's info dict (the
    backward adds its entries)."""

    def __init__(self, fz, z_leaf, inverse, config, info):
        self.fz, self.z_leaf, self.inverse = fz, z_leaf, inverse
        self.config, self.info = config, info
        self.start = None


class _ImplicitGradient(torch.autograd.Function):
    """Identity on f(z*) forward; backward replaces dL/dz* by the implicit
    direction w = (I - J_f)^{-T} dL/dz* (or its estimate), which autograd then
    pushes through the single recorded application of f."""

    @staticmethod
    def forward(ctx, fz, state):
        ctx.state = state
        return fz.clone()

    @staticmethod
    def backward(ctx, grad):
        state, ctx.state = ctx.state, None
        state.start = time.perf_counter()
        B = grad.shape[0]

        def vjp(w):
            out = torch.autograd.grad(state.fz, state.z_leaf, w.view_as(grad),
                                      retain_graph=True)[0]
            return out.reshape(B, -1)

        w, info = implicit_direction(grad.reshape(B, -1), vjp, state.inverse,
                                     state.config)
        info["implicit_backward_time_s"] = time.perf_counter() - state.start
        state.info.update(info)
        if not torch.isfinite(w).all():
            raise DEQDivergedError(
                f"The implicit backward ({state.config.mode}) produced NaN/inf; "
                "training stops: lower the learning rate or use backward='ift'."
            )
        return w.view_as(grad), None


class DEQRecon(nn.Module):
    """DEQ-MRI: model(y, physics, n_iter=None) -> x.

    y: (B, C, H, W) complex64 k-space, normalised per slice (learned/data.py);
    physics: the SENSE LinearOperator of those slices; returns x (B, H, W)
    complex64 in the same units. n_iter / tol override the forward solver's
    iteration limit / tolerance (test-time iterations). After each call
    `last_info` holds forward_iterations, forward_residual, forward_converged;
    each training step (forward and backward) appends to `history` its info
    with the backward's: backward_time_s (from the start of the DEQ's backward
    to the last parameter gradient), implicit_backward_time_s (the direction
    alone), backward_iterations, backward_residual, fallback_fraction; their
    totals are kept in the buffer `training_totals` (saved with the weights,
    see `training_summary`). Solves in eval mode are appended to `solve_log`;
    `measurements()` summarises them for the result file (the learned run's
    hook, learned/run.py), `reset_measurements()` clears them.
    """

    TOTALS = ("steps", "forward_iterations", "backward_time_s",
              "implicit_backward_time_s", "unconverged")

    def __init__(self, config: DEQConfig = DEQConfig()):
        super().__init__()
        self.config = config
        self.regulariser = Regulariser(config.channels, config.n_layers)
        self.register_buffer("training_totals",
                             torch.zeros(len(self.TOTALS), dtype=torch.float64))
        self.last_info = {}
        self.history = []
        self.solve_log = []
        self._pending = None
        self.outer_loss = None  # x (B, H, W) complex -> loss; set by deq_step

    @property
    def n_iter(self) -> int:
        """Forward iterations allowed at training (the trained count)."""
        return self.config.forward_max_iter

    def equilibrium_map(self, y, physics):
        """(f, z0): the fixed-point map on flat real states (B, N) and the
        zero-filled start x0 = A^H y."""
        x0 = to_real(physics.adjoint(y))  # (B, 2, H, W)
        sigmas = self.regulariser.sigmas()
        rho, eta = self.config.contraction, self.config.step_size

        def f(z_flat):
            z = z_flat.view_as(x0)
            x = to_complex(rho * self.regulariser(z, x0, sigmas))
            x = x - eta * physics.adjoint(physics(x) - y)
            return to_real(x).reshape(z_flat.shape)

        f.image_shape = tuple(x0.shape[-2:])  # (H, W): y's may be (C, K) samples
        return f, x0.reshape(x0.shape[0], -1)

    def solve(self, f, z0, n_iter=None, tol=None, opa=None):
        """Forward fixed-point solve without autograd; warns when it does not
        converge, raises DEQDivergedError on NaN/inf. opa: the outer loss as a
        function of the flat state, (B, N) -> scalar, for SHINE's
        outer-problem awareness (training only, see `_opa_update`)."""
        cfg = self.config
        max_iter = cfg.forward_max_iter if n_iter is None else int(n_iter)
        tol = cfg.forward_tol if tol is None else tol
        options = dict(tol=tol, max_iter=max_iter, memory=cfg.forward_memory)
        opa_count = [0]
        if opa is not None:
            def extra_update(z, inverse):
                opa_count[0] += 1
                self._opa_update(f, opa, z, inverse)

            # Room for the extra updates: a restart would discard the estimate.
            options.update(memory=cfg.forward_memory + max_iter // cfg.opa_every,
                           extra_update=extra_update, extra_every=cfg.opa_every)
        start = time.perf_counter()
        with torch.no_grad():
            result = SOLVERS[cfg.forward_solver](f, z0, **options)
        residual = float(result.residual.max())
        self.last_info = {
            "forward_iterations": result.n_iter,
            "forward_residual": residual,
            "forward_converged": result.converged,
            "forward_time_s": time.perf_counter() - start,
            "opa_products": opa_count[0],
        }
        if not self.training:
            self.solve_log.append(self.last_info)
        if not torch.isfinite(result.z).all() or residual != residual:
            raise DEQDivergedError(
                "The DEQ forward solve produced NaN/inf (residual "
                f"{residual}): the weights have diverged; training stops. Lower "
                "the learning rate."
            )
        if not result.converged:
            warnings.warn(
                f"DEQ forward solve ({cfg.forward_solver}) did not converge in "
                f"{max_iter} iterations: relative residual {residual:.2e} > tol "
                f"{tol:.1e}. The result is the last iterate.",
                DEQConvergenceWarning, stacklevel=3,
            )
        return result

    @staticmethod
    def _opa_update(f, outer_loss, z, inverse):
        """One outer-problem-aware (OPA) update of Broyden's inverse estimate B
        of (J_f - I)^{-1} at the iterate z (B, N) (Ramzi et al. 2022, with the
        adjoint Broyden update their DEQ code uses); outer_loss: (B, N) ->
        scalar, the training loss of z taken as the output. The direction is the
        current SHINE estimate of the backward's solution, sigma = B^T dL/dz
        (dL/dz: the outer loss's gradient at z taken as the output); the
        update makes B^T (J_g^T sigma) = sigma exact, so that if sigma were
        the exact w = -(J_f - I)^{-T} dL/dz*, SHINE's -B^T dL/dz* would return
        it. (The authors' code takes B dL/dz; B^T is what this argument asks
        for.) Costs one loss gradient, one evaluation of f with autograd and
        one vector-Jacobian product."""
        with torch.enable_grad():
            z_leaf = z.detach().clone().requires_grad_()
            grad = torch.autograd.grad(outer_loss(z_leaf), z_leaf)[0]
            sigma = inverse.rmatvec(grad)
            fz = f(z_leaf)
            jt_sigma = torch.autograd.grad(fz, z_leaf, sigma)[0] - sigma
        inverse.adjoint_update(sigma, jt_sigma)

    def forward(self, y, physics, n_iter=None, tol=None):
        f, z0 = self.equilibrium_map(y, physics)
        opa = None
        if self.config.opa_every is not None and self.training \
                and torch.is_grad_enabled():
            if self.outer_loss is None:
                raise ValueError(
                    "opa_every is set: the DEQ needs the training loss during its "
                    "forward solve. Train with step_fn=deq_step (benchmark_mri."
                    "learned.deq), which passes it, or set opa_every=None."
                )
            image = (z0.shape[0], 2, *f.image_shape)  # y may be (C, K) samples

            def opa(z_flat):
                return self.outer_loss(to_complex(z_flat.view(image)))
        result = self.solve(f, z0, n_iter, tol, opa)
        z_star = result.z.detach()
        params = [p for p in self.parameters() if p.requires_grad]
        if torch.is_grad_enabled() and params:
            z = self._attach_implicit_backward(f, z_star, result.inverse, params)
        else:
            with torch.no_grad():
                z = f(z_star)
        return to_complex(z.view(z.shape[0], 2, *f.image_shape))

    def _attach_implicit_backward(self, f, z_star, inverse, params):
        """One application of f at z* with autograd, whose incoming gradient
        the implicit backward replaces; times the backward until the last
        parameter gradient."""
        if self._pending is not None:  # a forward whose backward never ran
            self._pending.remove()
        z_leaf = z_star.clone().requires_grad_()
        fz = f(z_leaf)
        keep = inverse if self.config.backward in NEEDS_INVERSE else None
        info = dict(self.last_info)
        # Kept until the backward pass: fixed size, set by forward_memory.
        info["quasi_newton_bytes"] = keep.nbytes() if keep else 0
        state = _State(fz, z_leaf, keep, self.config.backward_config(), info)

        def finished(_grads):
            info["backward_time_s"] = time.perf_counter() - state.start
            self.history.append(info)
            step = [1, info["forward_iterations"], info["backward_time_s"],
                    info["implicit_backward_time_s"], not info["forward_converged"]]
            self.training_totals += torch.tensor(step, dtype=torch.float64,
                                                 device=self.training_totals.device)
            self._pending.remove()
            self._pending = None

        self._pending = torch.autograd.graph.register_multi_grad_hook(
            params, finished, mode="all")
        self.last_info = info
        return _ImplicitGradient.apply(fz, state)

    def reset_measurements(self):
        """Forget the eval-mode solves (before a test reconstruction)."""
        self.solve_log.clear()

    def measurements(self) -> dict:
        """What the result file reports for the DEQ besides the shared
        measurements: forward_iterations (mean forward-solver iterations per
        test batch) and forward_unconverged (share of test solves stopped by
        the iteration limit: reported, never hidden) since the last
        `reset_measurements`, and the training means of `training_summary`
        (kept with the weights, so also after a checkpoint is reused)."""
        result = {}
        if self.solve_log:
            n = len(self.solve_log)
            result["forward_iterations"] = sum(
                s["forward_iterations"] for s in self.solve_log) / n
            result["forward_unconverged"] = sum(
                not s["forward_converged"] for s in self.solve_log) / n
        result.update(self.training_summary())
        return result

    def training_summary(self) -> dict:
        """Means over all training steps so far (also after loading weights):
        train_forward_iterations, backward_time_s, implicit_backward_time_s,
        train_forward_unconverged (share of steps whose solve hit its limit)."""
        steps, *sums = self.training_totals.tolist()
        if steps == 0:
            return {}
        names = ("train_forward_iterations", "backward_time_s",
                 "implicit_backward_time_s", "train_forward_unconverged")
        return {name: value / steps for name, value in zip(names, sums)}


def deq_step(model, batch, loss_fn) -> torch.Tensor:
    """The Trainer's step_fn for the DEQ: the shared default step (loss of the
    final image), with, when the DEQ uses outer-problem awareness
    (`opa_every`), the training loss of this batch lent to the model for the
    duration of the step (OPA needs its gradient at the forward iterates).
    Any other model is passed straight to `default_step`."""
    if not isinstance(model, DEQRecon) or model.config.opa_every is None:
        return default_step(model, batch, loss_fn)
    model.outer_loss = lambda x: loss_fn(magnitude(x, batch.target_size),
                                         batch.target)
    try:
        return default_step(model, batch, loss_fn)
    finally:
        model.outer_loss = None
