"""Register kernels of the executor: block split, single-qubit action on pure states and density
matrices, product initial states. Batched over (P parameter sets, B samples); qubit 0 first.

- :func:`apply_1q`: U (P|1, B|1, d, d) on qubit q of psi (P, B, d^n) acts on the view
  (P, B, d^q, d, d^(n-q-1)) as one batched matmul psi' = U @ psi over the d axis.
- :func:`apply_superop`: a row-major superoperator S[(i,j),(k,l)] on qubit q of rho (P, B, d^n, d^n):
  rho'[.., i, .., j, ..] = sum_kl S[i,j,k,l] rho[.., k, .., l, ..]. The (ket, bra) index pair of q is
  moved last, so the channel is one batched matmul vec' = vec @ S^T over all other indices.
- :func:`apply_on_axes`: a matrix M on a group of register axes of a tensor (P, B, d, ..., d) (pure
  state: n axes; density matrix: n ket then n bra axes): the group is moved last and flattened
  row-major, t' = t @ M^T, so t'[.., i1, .., ik, ..] = sum M[(i1..ik), (j1..jk)] t[.., j1, .., jk, ..]
  (the realized two-qubit gates: U on (a, b), U* on the bra axes, a row-major channel on
  (ket a, ket b, bra a, bra b)).
- :func:`product_state` / :func:`product_density`: the first rotation block acting on |0...0>:
  psi = (x)_q U_q[:, 0] and rho = (x)_q S_q(|0><0|), where column 0 of a row-major S is vec S(|0><0|).

Pair layout (the density path of the executor). A density matrix rho[k_0..k_(n-1), b_0..b_(n-1)]
(ket indices, then bra indices) is held as r (P, B, (d^2)^n) with the ket and bra index of every
qubit ADJACENT, r[.., (k_0 b_0), (k_1 b_1), ..] (qubit 0 first): the row-major vec index of a
single-qubit superoperator is then one contiguous axis, and S on qubit q is one batched matmul on the
free view (P, B, d^(2q), d^2, d^(2(n-q-1))), r' = S @ r, with no transposed copy (the standard layout
needs two: the ket and bra axes of q are d^n apart). Conversions (:func:`pair_layout`,
:func:`standard_layout`) cost one transposed copy each and happen only at the ends of a run and around
entanglers that only speak the standard layout.

- :func:`apply_superop_pairs`: S (P|1, B|1, d^2, d^2) on qubit q; when q is the last qubit the view
  is (P, B, d^(2(n-1)), d^2) and r' = r @ S^T (one gemm per register).
- :func:`product_pairs`: (x)_q vec S_q(|0><0|) as a chain of pairwise outer products (the optimal
  contraction path of an outer product: each step writes the next (d^2)^k block once).
- :func:`reduced_pairs`: M[a, c] = sum_rest l[.., a, ..] r[.., c, ..] over every index but the pair
  axis of q, so that sum_(a, c) M[a, c] X[a, c] = <l, (X on q) r> for any d^2 x d^2 X: the adjoint
  gradient's contraction (:mod:`cryoctl.circuit.executor`).
- :func:`cz_pairs`: the ideal CZ block with two-qubit depolarizing of probability p
  (:class:`cryoctl.circuit.entangler.IdealCZ`) in pair layout, vectorised: D rho D is a +-1 mask on
  the (d^2)^n entries; the depolarizing of pair (a, b) is rho <- f * rho + (p / 4) Tr_ab(Pi rho Pi) on
  the 4 computational diagonal slices, with f a (d^2, d^2) mask on the pair's two axes (1 where the
  ket and the bra both lie in the leaked block, 1 - p elsewhere). Both are self-dual under the
  pairing <l, r> = sum l r (D real diagonal; the depolarizing Kraus set is closed under transpose), so
  the same function propagates the observable backwards.
"""

from __future__ import annotations

import string
from functools import lru_cache

import numpy as np

from cryoctl.circuit.description import Circuit, Rot


def circuit_blocks(circuit: Circuit) -> list[tuple[str, list]]:
    """Split the gate list into alternating blocks: ("rot", [Rot...]) and ("cz", [(a, b)...])."""
    blocks: list[tuple[str, list]] = []
    for g in circuit.gates:
        kind = "rot" if isinstance(g, Rot) else "cz"
        item = g if kind == "rot" else (g.a, g.b)
        if blocks and blocks[-1][0] == kind:
            blocks[-1][1].append(item)
        else:
            blocks.append((kind, [item]))
    return blocks


def small_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b over broadcast leading axes. For an inner size k <= 3 (the gates of qubits and qutrits) it is
    k broadcast multiply-adds, sum_j a[.., :, j] b[.., j, :]: numpy's batched matmul makes one BLAS call per
    matrix, which for (P, B, ...) stacks of 2 x 2 gates costs 2-5x more (measured: 12-37 us against 6-11 us
    for P = 3, B = 16, 4 qubits, d = 2; 300-1100 us against 100-220 us for B = 504)."""
    k = a.shape[-1]
    if k > 3:
        return a @ b
    out = a[..., :, 0:1] * b[..., 0:1, :]
    for j in range(1, k):
        out = out + a[..., :, j: j + 1] * b[..., j: j + 1, :]
    return out


def apply_1q(psi: np.ndarray, u: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """psi (P, B, d^n) flat-register view; u (P|1, B|1, d, d) -> new psi (P, B, d^n)."""
    P, B = psi.shape[:2]
    view = psi.reshape(P, B, d**qubit, d, d ** (n - qubit - 1))
    return small_matmul(u[:, :, None], view).reshape(P, B, d**n)


def apply_superop(rho: np.ndarray, s: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """rho (P, B, d^n, d^n); s (P|1, B|1, d^2, d^2) row-major superoperator on ``qubit``."""
    P, B = rho.shape[:2]
    L, R = d**qubit, d ** (n - qubit - 1)
    view = rho.reshape(P, B, L, d, R * L, d, R)
    moved = view.transpose(0, 1, 2, 4, 6, 3, 5).reshape(P, B, L * R * L * R, d * d)
    out = moved @ np.swapaxes(s, -1, -2)
    out = out.reshape(P, B, L, R * L, R, d, d).transpose(0, 1, 2, 5, 3, 6, 4)
    return out.reshape(P, B, d**n, d**n)


def apply_on_axes(t: np.ndarray, m: np.ndarray, axes) -> np.ndarray:
    """M (D, D) on the axes ``axes`` of t, D = product of their sizes (their row-major joint index)."""
    axes = [int(a) for a in axes]
    k = len(axes)
    last = list(range(t.ndim - k, t.ndim))
    moved = np.moveaxis(t, axes, last)
    shape = moved.shape
    out = (moved.reshape(shape[: t.ndim - k] + (-1,)) @ np.swapaxes(m, -1, -2)).reshape(shape)
    return np.moveaxis(out, last, axes)


def product_state(fused: dict[int, np.ndarray], n: int, d: int, P: int, B: int) -> np.ndarray:
    """(x)_q U_q |0> for the fused unitaries of the first block (identity where absent): (P, B, d^n)."""
    e0 = np.eye(d)[:, 0]
    cols = [np.broadcast_to(fused[q][..., :, 0] if q in fused else e0, (P, B, d)) for q in range(n)]
    psi = cols[0]
    for c in cols[1:]:
        psi = (psi[..., :, None] * c[..., None, :]).reshape(P, B, -1)
    return np.array(psi, dtype=np.complex128).reshape(P, B, d**n)


def product_density(fused: dict[int, np.ndarray], n: int, d: int, P: int, B: int) -> np.ndarray:
    """(x)_q S_q(|0><0|) for the fused superoperators of the first block: (P, B, d^n, d^n)."""
    return standard_layout(product_pairs(fused, n, d, P, B), n, d)


# --- pair layout (module docstring) ------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _pair_perm(n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axis permutations of (P, B, k_0..k_(n-1), b_0..b_(n-1)) <-> (P, B, k_0, b_0, ..., k_(n-1), b_(n-1))."""
    to_pairs = (0, 1) + tuple(a for q in range(n) for a in (2 + q, 2 + n + q))
    return to_pairs, tuple(int(i) for i in np.argsort(to_pairs))


def pair_layout(rho: np.ndarray, n: int, d: int) -> np.ndarray:
    """Standard (P, B, d^n, d^n) -> pair layout (P, B, (d^2)^n), one copy."""
    P, B = rho.shape[:2]
    t = rho.reshape((P, B) + (d,) * (2 * n)).transpose(_pair_perm(n)[0])
    return np.ascontiguousarray(t).reshape(P, B, d ** (2 * n))


def standard_layout(r: np.ndarray, n: int, d: int) -> np.ndarray:
    """Pair layout (P, B, (d^2)^n) -> standard (P, B, d^n, d^n), one copy."""
    P, B = r.shape[:2]
    t = r.reshape((P, B) + (d,) * (2 * n)).transpose(_pair_perm(n)[1])
    return np.ascontiguousarray(t).reshape(P, B, d**n, d**n)


@lru_cache(maxsize=64)
def pair_diagonal(n: int, d: int) -> np.ndarray:
    """Flat pair-layout indices of the diagonal rho[k, k] in row-major order of k: (d^n,)."""
    idx = np.zeros(1, dtype=np.int64)
    for _ in range(n):
        idx = (idx[:, None] * (d * d) + (np.arange(d) * (d + 1))[None, :]).reshape(-1)
    idx.setflags(write=False)
    return idx


def apply_superop_pairs(r: np.ndarray, s: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """r (P|1, B|1, (d^2)^n) pair layout; s (P|1, B|1, d^2, d^2) row-major superoperator on ``qubit``:
    (P, B, (d^2)^n), broadcast over the leading axes of both."""
    P, B = np.broadcast_shapes(r.shape[:2], s.shape[:2])
    dd = d * d
    left, right = dd**qubit, dd ** (n - qubit - 1)
    if right == 1:
        return (r.reshape(r.shape[:2] + (left, dd)) @ np.swapaxes(s, -1, -2)).reshape(P, B, -1)
    return (s[:, :, None] @ r.reshape(r.shape[:2] + (left, dd, right))).reshape(P, B, -1)


def reduced_pairs(l: np.ndarray, r: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """M[p, b, a, c] = sum_rest l[p, b, .., a, ..] r[p, b, .., c, ..] on the pair axis of ``qubit``."""
    P, B = np.broadcast_shapes(l.shape[:2], r.shape[:2])
    dd = d * d
    left, right = dd**qubit, dd ** (n - qubit - 1)
    lv = l.reshape(l.shape[:2] + (left, dd, right))
    rv = r.reshape(r.shape[:2] + (left, dd, right))
    if left == 1:
        return (lv[:, :, 0] @ np.swapaxes(rv[:, :, 0], -1, -2)).reshape(P, B, dd, dd)
    if right == 1:
        return np.swapaxes(lv[..., 0], -1, -2) @ rv[..., 0]
    return (lv @ np.swapaxes(rv, -1, -2)).sum(axis=2)  # (P, B, left, d^2, d^2) summed: BLAS, no transposed copy


def product_pairs(fused: dict[int, np.ndarray], n: int, d: int, P: int, B: int) -> np.ndarray:
    """(x)_q vec S_q(|0><0|) in pair layout: (P, B, (d^2)^n), built by pairwise outer products."""
    e0 = np.zeros(d * d, dtype=np.complex128)
    e0[0] = 1.0
    r = None
    for q in range(n):
        c = fused[q][..., :, 0] if q in fused else e0
        r = c if r is None else (r[..., :, None] * c[..., None, :]).reshape(np.broadcast_shapes(
            r.shape[:-1], c.shape[:-1]) + (-1,))
    if n > 1 and r.shape == (P, B, r.shape[-1]) and r.dtype == np.complex128:
        return r  # already a new array of the right shape (an outer product of the columns)
    return np.array(np.broadcast_to(r, (P, B, r.shape[-1])), dtype=np.complex128)


@lru_cache(maxsize=64)
def _cz_masks(pairs: tuple, n: int, d: int, p: float):
    """Per pair: (+-1 phase mask of D rho D, depolarizing factor f) in pair layout, broadcastable."""
    dd = d * d
    k, b = np.divmod(np.arange(dd), d)  # the ket and bra level of a pair index
    out = []
    for a, c in pairs:
        one_k = (k == 1)
        one_b = (b == 1)
        sa = [1] * n
        sc = [1] * n
        sa[a], sc[c] = dd, dd
        # D rho D: (-1)^([k_a = k_c = 1] + [b_a = b_c = 1])
        phase = np.where(one_k.reshape(sa) & one_k.reshape(sc), -1.0, 1.0) * \
            np.where(one_b.reshape(sa) & one_b.reshape(sc), -1.0, 1.0)
        leak_k = (k >= 2).reshape(sa) | (k >= 2).reshape(sc)
        leak_b = (b >= 2).reshape(sa) | (b >= 2).reshape(sc)
        f = np.where(leak_k & leak_b, 1.0, 1.0 - p)
        out.append((phase, f * phase))
    return out


def cz_pairs(r: np.ndarray, pairs, p: float, n: int, d: int) -> np.ndarray:
    """Ideal CZ block (each CZ then depolarizing of probability p on its pair) in pair layout: a new
    array (P, B, (d^2)^n). Self-dual: also the backward (Heisenberg) map of the block in reverse order."""
    P, B = r.shape[:2]
    dd = d * d
    pairs = tuple((int(a), int(b)) for a, b in pairs)
    t = r.reshape((P, B) + (dd,) * n)
    if p == 0.0:
        mask = np.ones((1,) * n)
        for ph, _ in _cz_masks(pairs, n, d, 0.0):
            mask = mask * ph
        return (t * mask).reshape(P, B, -1)
    comp = [(i, j) for i in (0, d + 1) for j in (0, d + 1)]  # pair indices of |00><00|, |01><01|, ...
    fresh = False
    for (a, c), (_, fph) in zip(pairs, _cz_masks(pairs, n, d, float(p))):
        tv = np.moveaxis(t, (2 + a, 2 + c), (-2, -1))  # a view: the pair's two axes last
        slices = [tv[..., i, j] for i, j in comp]  # basic indexing: views, no gather
        reduced = (slices[0] + slices[1] + slices[2] + slices[3]) * (p / 4)  # Tr_ab(Pi rho Pi); CZ phase 1
        if fresh:
            t *= fph
        else:  # the input is never written: one new array, then in place
            t = t * fph
            fresh = True
            tv = np.moveaxis(t, (2 + a, 2 + c), (-2, -1))
        for i, j in comp:
            tv[..., i, j] += reduced
    return t.reshape(P, B, -1)


def weighted_sum(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """out[p, i] = sum_j w[p, i, j] r[p, j]: real weights w (P|1, I, J) on complex registers r (P|1, J, S) ->
    (P, I, S), one real matmul on the (re, im) view of r."""
    r = np.ascontiguousarray(r)
    out = np.asarray(w, dtype=float) @ r.view(np.float64)
    return out.view(np.complex128)


def contract_except(lam: np.ndarray, vecs: dict[int, np.ndarray], qubits, n: int, d: int) -> dict[int, np.ndarray]:
    """For every q in ``qubits``: L_q[a] = sum over every pair axis but q's of lam[.., a_k, ..] prod_(k != q)
    v_k[a_k], (P, B, d^2).

    ``vecs[k]`` (P|1, B|1, d^2); a missing k is vec |0><0|. With the product state r = (x)_k v_k this is
    the first-block case of :func:`reduced_pairs`: M[a, c] = L_q[a] v_q[c]. Right partials
    T_k = lam contracted over the axes k+1..n-1 are shared by every q (T_q, then its axes 0..q-1 from
    the left), so the whole set costs two passes over lam instead of one per qubit."""
    P, B = lam.shape[:2]
    dd = d * d
    e0 = np.zeros(dd, dtype=np.complex128)
    e0[0] = 1.0
    v = {k: np.broadcast_to(vecs.get(k, e0), (P, B, dd)) for k in range(n)}
    right = {n - 1: lam.reshape(P, B, -1)}
    for k in range(n - 2, min(qubits) - 1, -1):
        right[k] = np.einsum("pbxa,pba->pbx", right[k + 1].reshape(P, B, -1, dd), v[k + 1])
    out = {}
    for q in qubits:
        t = right[q]
        for k in range(q):
            t = np.einsum("pbax,pba->pbx", t.reshape(P, B, dd, -1), v[k])
        out[q] = t.reshape(P, B, dd)
    return out


def superops_to_populations(r: np.ndarray, fused: dict[int, np.ndarray], n: int, d: int) -> np.ndarray:
    """Populations diag((x)_q S_q (r)) of a last rotation block, without the full output: (P, B, d^n) real.

    Populations after S_q need only its d rows (k, k) and leave qubit q diagonal, so the block is applied
    one qubit at a time with S_q[diag, :] (d x d^2), each qubit's pair axis shrinking from d^2 to d: the
    first application costs a third of a full superoperator, the later ones act on registers 3, 9, ...
    times smaller. Qubits without an operation just keep their diagonal."""
    P, B = r.shape[:2]
    dd = d * d
    diag = np.arange(d) * (d + 1)
    sizes = [dd] * n
    t = r
    for q in range(n):
        left, right = int(np.prod(sizes[:q])), int(np.prod(sizes[q + 1:]))
        view = t.reshape(t.shape[:2] + (left, dd, right))
        t = fused[q][..., diag, :][:, :, None] @ view if q in fused else view[:, :, :, diag, :]
        sizes[q] = d
    return np.broadcast_to(t, (P, B) + t.shape[2:]).reshape(P, B, d**n).real


def cz_populations(pops: np.ndarray, pairs, p: float, n: int, d: int) -> np.ndarray:
    """The ideal CZ block with depolarizing (:func:`cz_pairs`) on populations only, (P, B, d^n) real: the
    diagonal of the output depends only on the diagonal (the CZ phase is 1 there; the depolarizing keeps
    f = 1 on leaked and 1 - p on computational populations and adds p/4 of the pair's computational
    population to each of its 4 computational states)."""
    if p == 0.0:
        return pops
    P, B = pops.shape[:2]
    t = pops.reshape((P, B) + (d,) * n).copy()
    lv = np.arange(d)
    f = np.where((lv[:, None] >= 2) | (lv[None, :] >= 2), 1.0, 1.0 - p)
    for a, c in pairs:
        tv = np.moveaxis(t, (2 + int(a), 2 + int(c)), (-2, -1))
        reduced = tv[..., :2, :2].sum(axis=(-2, -1))
        tv *= f
        tv[..., :2, :2] += (p / 4) * reduced[..., None, None]
    return t.reshape(P, B, d**n)
