"""Wavelet-l1 compressed sensing by ISTA / FISTA (Lustig et al., MRM 2007;
Beck & Teboulle, SIAM J. Imaging Sci. 2009).

Minimises, for each slice, 1/2 ||A x - y||^2 + lambda ||W x||_1 with A the
SENSE operator (mask, centred orthonormal FFT, coil maps), W a multi-level 2D
wavelet (classical/wavelet.py; db4, boundary mode "zero", as sigpy's
L1WaveletRecon), by proximal gradient steps of size 1/L, L >= ||A^H A||:
- lipschitz="bound" (default): max over pixels of sum_c |S_c|^2, an upper
  bound for any maps (M F is a contraction) that costs nothing; for a
  Cartesian mask and RSS-normalised maps (the objective's) it is ||A^H A||
  itself, 1;
- lipschitz="power": 30 power iterations (physics.op_norm), sigpy's rule.
  It approaches ||A^H A|| from below (0.997 of it after 30 iterations on the
  real slices), and costs 30 applications of A^H A: for
  operators without coil maps, and to reproduce sigpy's iterates.
The proximal step is W^T soft(W v, lambda/L) with the complex soft threshold
on the coefficients' magnitude, sigpy's `UnitaryTransform(L1Reg)`: the same
iterations as sigpy's GradientMethod, so the two reach the same image. (With
the "zero" boundary W is a tight frame, W^T W = I, not square: this step is
then sigpy's analysis-thresholding approximation of the l1 prox, exact for an
orthogonal W.)

lambda: `lmbda` is relative to the data: lambda = lmbda * max |A^H y| of each
slice (the peak of its zero-filled SENSE image), so one value suits volumes of
any intensity scale; `relative=False` takes `lmbda` as the absolute lambda.

Split as sigpy's Alg / App: `WaveletL1.step()` is one iteration, the caller
(benchopt's callback loop through `WaveletL1Split`, `wavelet_l1` below)
drives it. Nothing heavy happens in the constructor: A^H y and the power
iteration run in the first step, so a timed loop counts them.

Divergence (a step 1/L with L below ||A^H A||, e.g. lipschitz=0.01): every
step checks the relative data misfit ||A z - y||^2 / ||y||^2 at the point it
steps from (1 for z = 0; it costs two inner products, A^H A z being at hand),
and `relative_objective()` the relative cost it computes (1 at x = 0; both
decrease in a converging run). When either is not finite or exceeds
DIVERGENCE_BOUND, `diverged` says why and the caller stops:
`WaveletL1Split.result()` then reports NaN images and cost with diverged = 1,
a recorded result that is never scored.
"""

import torch

from ..data import Measurement, center_crop
from ..physics import LinearOperator, op_norm
from .wavelet import Wavelet, soft_threshold

DIVERGENCE_BOUND = 10.0  # relative data misfit and cost; see the module docstring


class WaveletL1:
    """ISTA (accelerated=False) or FISTA (accelerated=True) iterations.

    op: image (B, H, W) complex64 -> k-space; y: its measurements.
    lmbda: >= 0, relative (see the module docstring) unless relative=False.
    restart: FISTA's gradient restart (O'Donoghue & Candes 2015): momentum is
        reset when the step goes against the last update.
    lipschitz: "power" or "bound" (module docstring), or a number.
    power_iter: iterations of the power method, for lipschitz="power".
    image_shape: (H, W) of x; by default y's last two axes (Cartesian
        k-space); give it for non-Cartesian samples (B, C, K).
    x: the current (B, H, W) complex64 estimate (zeros before the first
        step); the next step reuses its storage, so clone it to keep it.
    diverged: None, or why the iterations diverged (module docstring).
    """

    def __init__(self, op: LinearOperator, y: torch.Tensor, lmbda: float,
                 accelerated: bool = True, restart: bool = False,
                 wavelet: str = "db4", level: int | None = None,
                 relative: bool = True, lipschitz="bound", power_iter: int = 30,
                 image_shape: tuple[int, int] | None = None):
        if not lmbda >= 0:
            raise ValueError(f"wavelet-l1 lmbda must be >= 0; got {lmbda}.")
        if not torch.isfinite(torch.view_as_real(y)).all():
            raise ValueError("wavelet-l1: the k-space contains NaN or inf values.")
        self.op, self.y = op, y
        self.lmbda, self.relative = lmbda, relative
        self.accelerated, self.restart = accelerated, restart
        if lipschitz not in ("power", "bound") and not _positive(lipschitz):
            raise ValueError(f"lipschitz must be 'power', 'bound' or a number > 0; "
                             f"got {lipschitz!r}.")
        self.lipschitz_rule, self.power_iter = lipschitz, power_iter
        self.image_shape = tuple(image_shape or y.shape[-2:])
        self.wavelet = Wavelet(self.image_shape, wavelet, level)
        self.n_iter = 0
        self.x = None
        self.diverged = None

    @classmethod
    def for_measurement(cls, m: Measurement, lmbda: float, lipschitz="bound",
                        **kwargs) -> "WaveletL1":
        """WaveletL1 on a volume's data term (Measurement.data_consistency):
        SENSE on Cartesian data, density-weighted NUFFT-SENSE otherwise. The
        closed-form bound on ||A^H A|| holds for Cartesian masks only, so on
        non-Cartesian data lipschitz="bound" means the power iteration."""
        op, y = m.data_consistency()
        if not m.is_cartesian and lipschitz == "bound":
            lipschitz = "power"
        return cls(op, y, lmbda, lipschitz=lipschitz, image_shape=m.image_shape,
                   **kwargs)

    def _setup(self):
        self.adj_y = self.op.adjoint(self.y)  # (B, H, W)
        if self.lipschitz_rule == "power":
            self.lipschitz = op_norm(self.op, self.adj_y, self.power_iter)
        elif self.lipschitz_rule == "bound":
            smaps = getattr(self.op, "smaps", None)
            if smaps is None:
                raise ValueError("lipschitz='bound' needs a SENSE operator (with "
                                 "smaps); use lipschitz='power'.")
            self.lipschitz = float((smaps.abs() ** 2).sum(1).amax())
        else:
            self.lipschitz = float(self.lipschitz_rule)
        scale = self.adj_y.abs().flatten(1).amax(1) if self.relative else 1.0
        lmbda = self.lmbda * torch.as_tensor(scale, device=self.y.device)
        # Per-slice threshold, broadcast over the (B, N) coefficients.
        self.threshold = (lmbda / self.lipschitz).reshape(-1, 1)
        self.lmbda_abs = lmbda
        self.y_norm2 = self.y.abs().pow(2).flatten(1).sum(1)  # (B,) ||y||^2
        self.x = torch.zeros_like(self.adj_y)
        self.z, self.t = self.x, 1.0

    def step(self):
        """One proximal gradient step (from the momentum point, for FISTA)."""
        if self.x is None:
            self._setup()
        x_old, z = self.x, self.z
        normal = self.op.normal(z)  # A^H A z
        self._check_misfit(z, normal)
        # v = z - (A^H A z - A^H y) / L, then W^T soft(W v, lambda / L).
        step = 1 / self.lipschitz
        v = normal.mul_(-step).add_(z).add_(self.adj_y, alpha=step)
        w = self.wavelet
        self.x = w.inverse(soft_threshold(w.forward(v), self.threshold, in_place=True))
        if self.accelerated:
            if self.restart and _dot(z - self.x, self.x - x_old) > 0:
                self.t = 1.0
            t_new = (1 + (1 + 4 * self.t**2) ** 0.5) / 2
            # z = x + (t - 1) / t_new (x - x_old), written over x_old (no
            # longer needed); on the real views: torch's complex lerp is
            # several times slower than its real one.
            z_parts = torch.view_as_real(x_old)
            torch.lerp(z_parts, torch.view_as_real(self.x),
                       1 + (self.t - 1) / t_new, out=z_parts)
            self.z, self.t = x_old, t_new
        else:
            self.z = self.x
        self.n_iter += 1

    def _check_misfit(self, z, normal):
        """Flag ||A z - y||^2 / ||y||^2 at the point stepped from, from what
        the step has at hand: ||A z - y||^2 = <z, A^H A z> - 2 <z, A^H y> + ||y||^2."""
        misfit = _dots(z, normal) - 2 * _dots(z, self.adj_y) + self.y_norm2
        self._flag("relative data misfit ||Ax - y||^2 / ||y||^2",
                   misfit / self.y_norm2.clamp_min(1e-30), self.n_iter + 1)

    def _flag(self, what: str, relative: torch.Tensor, iteration: int):
        """Set `diverged` when a (B,) quantity relative to x = 0 is not finite
        or above DIVERGENCE_BOUND for some slice."""
        if self.diverged is not None:
            return
        finite = bool(torch.isfinite(relative).all())
        worst = float(relative.max()) if finite else float("nan")
        if not worst <= DIVERGENCE_BOUND:
            self.diverged = (
                f"at iteration {iteration} the {what} is {worst:.3g} (1 at x = 0; "
                f"bound {DIVERGENCE_BOUND:g}): the step 1/L is too long (L = "
                f"{self.lipschitz:.3g}, lipschitz={self.lipschitz_rule!r}); use "
                "lipschitz='bound' or 'power'")

    def objective(self) -> torch.Tensor:
        """1/2 ||A x - y||^2 + lambda ||W x||_1 of each slice, (B,) float."""
        if self.x is None:
            self._setup()
        residual = self.op(self.x) - self.y
        data = 0.5 * residual.abs().pow(2).flatten(1).sum(1)
        c = self.wavelet.forward(self.x)
        return data + self.lmbda_abs * torch.sqrt(c[0] ** 2 + c[1] ** 2).sum(-1)

    def relative_objective(self) -> torch.Tensor:
        """objective() / 1/2 ||y||^2 (the cost of x = 0), (B,) float: 1 at
        the start, decreasing; comparable across slices of any scale. A
        value that is not finite or above DIVERGENCE_BOUND sets `diverged`."""
        initial = 0.5 * self.y.abs().pow(2).flatten(1).sum(1)
        relative = self.objective() / initial.clamp_min(1e-30)
        self._flag("relative cost F(x) / F(0)", relative, self.n_iter)
        return relative

    def magnitude(self) -> torch.Tensor:
        """|x|, (B, H, W) float32 (zeros before the first step)."""
        if self.x is None:
            return torch.zeros(self.y.shape[:1] + self.image_shape,
                               device=self.y.device)
        return self.x.abs()


def _positive(value) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _dot(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(_dots(a, b).sum())


def _dots(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Re <a, b> per slice: (B, ...) complex -> (B,) float, as the real dot
    product of the real views (half the arithmetic of the complex one)."""
    return torch.linalg.vecdot(torch.view_as_real(a).flatten(1),
                               torch.view_as_real(b).flatten(1))


class WaveletL1Split:
    """WaveletL1 on every volume of a split, stepped together (what
    solvers/ista_l1.py drives from benchopt's callback).

    measurements: a data.split.Split or a list of Measurement, read once
    here (each volume's data term is kept, not the split); lmbda, lipschitz,
    kwargs: as WaveletL1.for_measurement. `diverged`: None or why (the first
    volume that diverged, said once through `log`).
    """

    def __init__(self, measurements, lmbda: float, lipschitz="bound", log=print,
                 **kwargs):
        self.log = log
        self.names, self.sizes, self.algs = [], [], []
        for i in range(len(measurements)):  # one measurement bound at a time
            m = measurements[i]
            self.names.append(m.name)
            self.sizes.append((m.y.shape[0], *m.target_size))
            self.algs.append(WaveletL1.for_measurement(m, lmbda, lipschitz, **kwargs))
        self.diverged = None

    def step(self):
        for alg in self.algs:
            alg.step()
        self._check()

    def _check(self):
        for name, alg in zip(self.names, self.algs):
            if alg.diverged is not None and self.diverged is None:
                self.diverged = f"volume {name!r}: {alg.diverged}"
                self.log(f"wavelet-l1 diverged, {self.diverged}. The run stops "
                         "here: it is recorded as diverged (diverged=1, NaN "
                         "metrics).")

    def result(self) -> dict:
        """{"recon": (S, h, w) magnitudes, "cost": mean relative objective,
        "diverged": 0 / 1}; NaN images and cost once diverged (at a step, or
        by the cost computed here)."""
        if self.diverged is None:
            cost = float(torch.cat([alg.relative_objective()
                                    for alg in self.algs]).mean())
            self._check()
        if self.diverged is not None:
            return dict(recon=[torch.full(size, float("nan")) for size in self.sizes],
                        cost=float("nan"), diverged=1)
        return dict(recon=[center_crop(alg.magnitude(), size[1:])
                           for alg, size in zip(self.algs, self.sizes)],
                    cost=cost, diverged=0)


def wavelet_l1(m: Measurement, lmbda: float, n_iter: int = 100, **kwargs):
    """Reconstruct a volume with `n_iter` iterations of WaveletL1 on its data
    term: (S, h, w) float32 magnitude, centre-cropped to the target size."""
    alg = WaveletL1.for_measurement(m, lmbda, **kwargs)
    for _ in range(n_iter):
        alg.step()
    return center_crop(alg.magnitude(), m.target_size)
