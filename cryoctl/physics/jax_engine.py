"""The ``jax`` engine: exact ZOH propagators and Lindblad channels in JAX (float64; CPU or GPU).

Same mathematics as the ``fast`` engine (:mod:`cryoctl.physics.fast`, :mod:`cryoctl.physics.lindblad`),
written for XLA so that table building runs on an accelerator when one is present:

    U = exp(-i H_K dt) ... exp(-i H_2 dt) exp(-i H_1 dt),   H_k = H_static + sum_c s_c,k O_c,

- the distinct sample vectors (s_1, ..., s_C) are found once on the host (:func:`cryoctl.physics.fast.unique_rows`),
  their Hamiltonians diagonalised in ONE batched ``jnp.linalg.eigh`` (real-symmetric when every operator is
  real, Hermitian otherwise): exp(-i H dt) = V diag(e^{-i E dt}) V';
- the per-sample steps are gathered back to (..., K, D, D) and multiplied in time order by an associative
  scan (``jax.lax.associative_scan`` with ``combine(earlier, later) = later @ earlier``): log2 K batched
  matmul rounds, the last prefix being the whole product.

Channels (open models) use the row-major Lindblad generator of :mod:`cryoctl.physics.lindblad` in the
orthonormal Hermitian operator basis, where it is real: R_k = B' L_k B, exp(R_k dt) by
``jax.scipy.linalg.expm`` (Pade 13, scaling and squaring; batched), the same associative scan, and
S = B R B' back in row-major vec. A closed model's channel is kron(U, U*).

Results are numpy arrays (callers compose them with numpy). 64-bit floats are switched on globally when
this module is imported (``jax_enable_x64``): the engine must agree with ``fast`` to ~1e-12, which
float32 cannot. JAX is an optional extra: ``pip install cryoctl[jax]``.
"""

from __future__ import annotations

import numpy as np

try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl
except ImportError as exc:  # pragma: no cover - engines.JaxEngine checks first and explains
    raise ImportError("the jax engine needs JAX: pip install cryoctl[jax]") from exc

jax.config.update("jax_enable_x64", True)

from cryoctl.conventions import kron_conj  # noqa: E402
from cryoctl.physics.fast import stack_signals, unique_rows  # noqa: E402
from cryoctl.physics.lindblad import (  # noqa: E402
    dissipator_superop, hamiltonian_superop, hermitian_basis, real_generator,
)


def time_ordered_scan(steps):
    """U_K ... U_1 of steps (..., K, n, n) (sample 1 first in time) by ``jax.lax.associative_scan``."""
    prefixes = jax.lax.associative_scan(lambda earlier, later: later @ earlier, steps, axis=steps.ndim - 3)
    return prefixes[..., -1, :, :]


@jax.jit
def _unitary_core(h, inverse, dt):
    """h (u, D, D) distinct Hamiltonians, inverse (..., K) sample -> row: the propagators (..., D, D)."""
    evals, evecs = jnp.linalg.eigh(h)
    steps = (evecs * jnp.exp(-1j * dt * evals)[..., None, :]) @ jnp.conj(jnp.swapaxes(evecs, -1, -2))
    return time_ordered_scan(steps[inverse])


@jax.jit
def _channel_core(gen, inverse, dt, basis):
    """gen (u, D^2, D^2) real generators in the Hermitian basis -> row-major channels (..., D^2, D^2)."""
    steps = jsl.expm(dt * gen)
    r_total = time_ordered_scan(steps[inverse])
    return basis @ r_total.astype(basis.dtype) @ jnp.conj(basis.T)


def _hamiltonians(model, names, rows):
    """H = H_static + sum_c rows[:, c] O_c for every distinct sample vector: (u, D, D), real when possible."""
    h = np.broadcast_to(model.static, (rows.shape[0], model.dim, model.dim)) + sum(
        rows[:, c, None, None] * model.drives[name] for c, name in enumerate(names))
    if all(not np.iscomplexobj(o) for o in (model.static, *(model.drives[c] for c in names))):
        h = np.real(h)
    return np.ascontiguousarray(h)


def propagate(model, signals, dt_ns: float) -> np.ndarray:
    """Propagator U (..., D, D) of the ZOH ``signals`` on ``model`` (collapse operators ignored)."""
    names, stack = stack_signals(model, signals)
    rows, inverse = unique_rows(stack)
    h = _hamiltonians(model, names, rows)
    return np.asarray(_unitary_core(jnp.asarray(h), jnp.asarray(inverse), float(dt_ns)))


def channel(model, signals, dt_ns: float) -> np.ndarray:
    """Exact ZOH channel S (..., D^2, D^2), row-major, with the model's Lindblad dissipators."""
    if not model.is_open:
        return kron_conj(propagate(model, signals, dt_ns))
    names, stack = stack_signals(model, signals)
    rows, inverse = unique_rows(stack)
    basis = hermitian_basis(model.dim)
    r0 = real_generator(hamiltonian_superop(model.static) + dissipator_superop(list(model.collapse), model.dim), basis)
    gen = np.broadcast_to(r0, (rows.shape[0],) + r0.shape)
    if names:
        rc = np.stack([real_generator(hamiltonian_superop(model.drives[c]), basis) for c in names])
        gen = gen + np.einsum("uc,cab->uab", rows, rc)
    out = _channel_core(jnp.asarray(np.ascontiguousarray(gen)), jnp.asarray(inverse), float(dt_ns), jnp.asarray(basis))
    return np.asarray(out)
