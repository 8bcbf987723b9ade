"""The one interface every forward model implements."""

import torch


class LinearOperator(torch.nn.Module):
    """A linear map A between image and k-space, with its adjoint A^H.

    Whatever defines A (mask, coil maps, trajectory) is fixed at construction
    and stored as buffers, so `.to(device)` moves it: a new mask is a new
    operator. Subclasses implement `forward` (A) and `adjoint` (A^H).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """A^H A x; override where a cheaper form exists."""
        return self.adjoint(self.forward(x))

    def solve_normal(self, y: torch.Tensor, n_iter: int = 20,
                     tol: float = 1e-6) -> torch.Tensor:
        """Least squares min_x ||A x - y||^2 by conjugate gradients on the
        normal equations A^H A x = A^H y (see `conjugate_gradient`)."""
        return conjugate_gradient(self.normal, self.adjoint(y), n_iter, tol)


def conjugate_gradient(normal, b: torch.Tensor, n_iter: int = 20,
                       tol: float = 1e-6) -> torch.Tensor:
    """x (B, H, W) with normal(x) = b, for a Hermitian positive semi-definite
    `normal` (e.g. A^H A), by at most `n_iter` CG iterations from x = 0,
    stopping once every slice's ||b - normal(x)|| / ||b|| < tol.

    With A the SENSE operator this is CG-SENSE (Pruessmann et al., MRM 2001);
    with the density-weighted data term of non-Cartesian data
    (Measurement.data_consistency(): A = sqrt(w) F S) it is Pruessmann's
    preconditioned CG-SENSE, whose normal operator is well conditioned.
    """
    if not (isinstance(n_iter, int) and n_iter >= 1):
        raise ValueError(f"n_iter must be an integer >= 1 (got {n_iter!r}).")
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()

    def dot(u, v):  # per-slice real inner product, (B, 1, 1)
        return torch.sum(u.conj() * v, dim=(-2, -1), keepdim=True).real

    rr = dot(r, r)
    stop = tol**2 * dot(b, b)
    for _ in range(n_iter):
        if bool((rr <= stop).all()):
            break
        q = normal(p)
        alpha = rr / dot(p, q).clamp_min(1e-30)
        x = x + alpha * p
        r = r - alpha * q
        rr_new = dot(r, r)
        p = r + (rr_new / rr.clamp_min(1e-30)) * p
        rr = rr_new
    return x


def op_norm(op: LinearOperator, x0: torch.Tensor, n_iter: int = 30) -> float:
    """Largest singular value of `op` squared (||A^H A||), by power iteration
    from `x0` (any image of the operator's input shape)."""
    generator = torch.Generator(device=x0.device).manual_seed(0)
    x = torch.randn(x0.shape, dtype=x0.dtype, device=x0.device, generator=generator)
    x = x / torch.linalg.vector_norm(x)
    value = 0.0
    for _ in range(n_iter):
        x = op.normal(x)
        value = float(torch.linalg.vector_norm(x))
        x = x / value
    return value
