"""Entanglers: what a circuit's CZ does on the register (the seam for realized two-qubit gates).

An entangler acts on a block of CZ pairs, on pure states (P, B, d^n) and on density matrices
(P, B, d^n, d^n). ``noisy`` tells the executor that a pure state cannot hold the result (density
matrices needed); ``diagonal`` that the block is a diagonal phase (populations invariant, so a
trailing block can be skipped when only populations are read).

:class:`IdealCZ` ``(error=p)``: the ideal CZ on the computational subspace -- phase -1 only where
both qubits sit in level 1, identity elsewhere (leakage levels included): a real +-1 diagonal D,
psi -> D psi, rho -> D rho D. With p > 0 every CZ is followed by two-qubit depolarizing of the
computational block of its pair (a, b), leakage left where it is:

    rho -> (1 - p) rho + p [ Tr_ab(Pi rho Pi) (x) Pi / 4 + Q rho Q ],

Pi = Pi_a (x) Pi_b (Pi_q = |0><0| + |1><1| of qubit q) the pair's computational projector, Q = 1 - Pi
(at least one of the two qubits leaked). Kraus operators sqrt(1 - p) 1, sqrt(p) Q and sqrt(p) / 2
|m><k| (m, k computational states of the pair): sum K'K = (1 - p) 1 + p Q + p Pi = 1 (trace
preserving). The computational block's share is replaced by the maximally mixed two-qubit state;
population in leakage levels stays there (coherences between the two blocks shrink by 1 - p). On
two-level registers Q = 0 and it is the textbook two-qubit depolarizing channel.

:class:`RealizedCZ`: the realized flux CZ of every coupled pair (:func:`cryoctl.gates.cz.build_cz`:
calibrated through the quantized flux DAC, virtual-Z corrected, in the idle frames of both qubits),
a d^2 x d^2 unitary U or a row-major d^4 x d^4 channel S (T1/T2) on the pair (qubit a = left factor).
On the register it acts on the pair's two axes only (spectators untouched: the pair model has no
crosstalk):

    psi'[.., i_a, .., i_b, ..] = sum_{k_a k_b} U[(i_a i_b), (k_a k_b)] psi[.., k_a, .., k_b, ..],
    rho' = U rho U'  (unitary),   vec(rho')_pair = S vec(rho)_pair  (channel, ket and bra axes of a, b),

one batched matmul over every other index (P, B, spectators). A block of CZs is applied in circuit
order (realized CZs need not commute). Leaked population stays leaked: U and S act on all d levels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from cryoctl.circuit.description import CZ
from cryoctl.circuit.ops import cz_diagonal
from cryoctl.circuit.simulate import apply_on_axes
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError

ENTANGLERS = ("auto", "ideal", "realized")


def depolarize_pair(rho: np.ndarray, a: int, b: int, p: float, n: int, d: int) -> np.ndarray:
    """(1 - p) rho + p [Tr_ab(Pi rho Pi) (x) Pi/4 + Q rho Q] on the pair (a, b) (module docstring).

    Written as rho <- f * rho + (p / 4) Tr_ab(Pi rho Pi) on the 4 computational diagonal slices, with
    f = 1 where both the ket and the bra of the pair lie in the leaked block Q and 1 - p elsewhere;
    the partial trace is the sum of the 4 computational slices (ket_a = bra_a = i, ket_b = bra_b = j,
    i, j in {0, 1}). ``rho`` is modified in place.
    """
    if p == 0.0:
        return rho
    P, B = rho.shape[:2]
    r = rho.reshape((P, B) + (d,) * (2 * n))
    reduced = sum(r[pair_slice(a, b, n, i, j)] for i in (0, 1) for j in (0, 1))  # Tr_ab(Pi rho Pi)
    r *= np.where(leaked_pair_mask(a, b, n, d), 1.0, 1.0 - p)
    for i in (0, 1):
        for j in (0, 1):
            r[pair_slice(a, b, n, i, j)] += (p / 4) * reduced
    return rho


def pair_slice(a: int, b: int, n: int, i: int, j: int) -> tuple:
    """Index of the slice ket_a = bra_a = i, ket_b = bra_b = j of a density matrix viewed as (P, B, d, ..., d)
    with n ket axes then n bra axes."""
    idx = [slice(None)] * (2 + 2 * n)
    idx[2 + a] = idx[2 + n + a] = i
    idx[2 + b] = idx[2 + n + b] = j
    return tuple(idx)


def leaked_pair_mask(a: int, b: int, n: int, d: int) -> np.ndarray:
    """True where both the ket and the bra of the pair (a, b) lie in the leaked block Q (a level >= 2 on a or b),
    broadcastable against the (P, B, d, ..., d) view of a density matrix."""

    def level(axis):
        shape = [1] * (2 + 2 * n)
        shape[axis] = d
        return np.arange(d).reshape(shape)

    leaked_ket = (level(2 + a) >= 2) | (level(2 + b) >= 2)
    leaked_bra = (level(2 + n + a) >= 2) | (level(2 + n + b) >= 2)
    return leaked_ket & leaked_bra


@dataclass(frozen=True)
class IdealCZ:
    """Ideal CZ diagonal, followed by two-qubit depolarizing of probability ``error`` per CZ."""

    error: float = 0.0

    def __post_init__(self):
        if not 0.0 <= float(self.error) <= 1.0:
            raise CryoctlError(f"expected a probability in [0, 1], got {self.error}", field="qubits.cz_error")

    @classmethod
    def from_profile(cls, profile) -> "IdealCZ":
        return cls(float(profile.qubits.cz_error))

    @property
    def noisy(self) -> bool:
        return self.error > 0.0

    @property
    def diagonal(self) -> bool:
        return not self.noisy

    @property
    def label(self) -> str:
        return "ideal" if not self.noisy else f"ideal+depol{self.error:g}"

    def apply_state(self, psi: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """psi (P, B, d^n) -> D psi."""
        if self.noisy:
            raise CryoctlError("a CZ error needs density-matrix execution", field="mode")
        return psi * cz_diagonal(pairs, n, d).reshape(-1)

    def undo_state(self, psi: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """D^-1 psi = D psi (a real +-1 diagonal is its own inverse): the adjoint's backward sweep."""
        return self.apply_state(psi, pairs, n, d)

    def apply_density(self, rho: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """rho (P, B, d^n, d^n) -> the block of CZs (each with its depolarizing) applied; in place."""
        if not self.noisy:  # the whole block as one diagonal
            diag = cz_diagonal(pairs, n, d).reshape(-1)
            rho *= np.multiply.outer(diag, diag)  # real +-1: D rho D
            return rho
        for a, b in pairs:
            diag = cz_diagonal([(a, b)], n, d).reshape(-1)
            rho *= np.multiply.outer(diag, diag)
            rho = depolarize_pair(rho, a, b, self.error, n, d)
        return rho


# --- the realized flux CZ --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairOp:
    """The realized CZ of one coupled pair: ``operation`` (d^2, d^2) unitary or (d^4, d^4) row-major
    channel on (qubits[0], qubits[1]) (qubits[0] = left factor), and its metrics / pulse (``info``)."""

    qubits: tuple[int, int]
    operation: np.ndarray
    info: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class RealizedCZ:
    """Realized two-qubit operations of coupled pairs, applied on the register (module docstring).

    Build it from a profile with a flux section (:meth:`from_profile`) or from explicit pair operations
    (``pairs``: :class:`PairOp`, e.g. a model CZ for comparison). All pairs act as one kind: when one is
    a channel, the unitaries are lifted to kron(U, U*)."""

    pairs: tuple[PairOp, ...]
    levels: int
    name: str = "realized"

    def __post_init__(self):
        d = int(self.levels)
        if d < 2:
            raise CryoctlError(f"expected at least 2 levels, got {d}", field="levels")
        pairs = tuple(self.pairs)
        if not pairs:
            raise CryoctlError("no coupled pair to realize a CZ on", field="couplings")
        sides = {d * d: "unitary", d**4: "channel"}
        kinds = []
        for po in pairs:
            op = np.asarray(po.operation)
            if op.ndim != 2 or op.shape[0] != op.shape[1] or op.shape[0] not in sides:
                raise CryoctlError(f"pair {po.qubits}: expected a ({d * d}, {d * d}) unitary or a ({d**4}, {d**4}) "
                                   f"channel, got shape {op.shape}", field="entangler")
            if len(set(po.qubits)) != 2:
                raise CryoctlError(f"a CZ needs two distinct qubits, got {po.qubits}", field="couplings")
            kinds.append(sides[op.shape[0]])
        kind = "channel" if "channel" in kinds else "unitary"
        if kind == "channel":
            pairs = tuple(po if k == "channel" else PairOp(po.qubits, kron_conj(np.asarray(po.operation)), po.info)
                          for po, k in zip(pairs, kinds))
        lookup = {}
        for po in pairs:
            key = frozenset(int(q) for q in po.qubits)
            if key in lookup:
                raise CryoctlError(f"pair {sorted(key)} given twice", field="couplings")
            lookup[key] = po
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_lookup", lookup)

    @classmethod
    def from_profile(cls, profile, pairs=None, *, engine: str = "fast", open_system: bool | None = None,
                     cache_dir=None, disk_cache: bool = True) -> "RealizedCZ":
        """The realized CZ of ``pairs`` (default: every coupling of the profile), cached (:func:`realized_pair`)."""
        if getattr(profile, "flux", None) is None:
            raise CryoctlError(f"profile {profile.name!r} has no flux section: the realized CZ needs a flux DAC "
                               "(use the ideal entangler)", field="flux")
        if pairs is None:
            pairs = [tuple(c.qubits) for c in profile.couplings]
        wanted = []
        for a, b in pairs:
            key = frozenset((int(a), int(b)))
            if key not in [frozenset(w) for w in wanted]:
                wanted.append(_coupled_pair(profile, int(a), int(b)))
        ops = tuple(realized_pair(profile, pair, engine=engine, open_system=open_system, cache_dir=cache_dir,
                                  disk_cache=disk_cache) for pair in wanted)
        return cls(ops, profile.qubits.levels)

    @property
    def noisy(self) -> bool:
        return self.kind == "channel"

    @property
    def diagonal(self) -> bool:
        return False  # leakage and off-diagonal errors change the populations

    @property
    def label(self) -> str:
        return self.name

    def summary(self) -> list[dict]:
        """One row per pair: qubits and the metrics of its realized CZ (``info``)."""
        return [{"qubits": list(po.qubits), **{k: v for k, v in po.info.items() if k != "qubits"}}
                for po in self.pairs]

    def pair(self, a: int, b: int) -> PairOp:
        po = self._lookup.get(frozenset((int(a), int(b))))
        if po is None:
            known = sorted(sorted(k) for k in self._lookup)
            raise CryoctlError(f"CZ on qubits ({a}, {b}): not a coupled pair with a realized CZ (pairs: {known}); "
                               "the circuit's CZs must follow the profile's couplings", field="couplings")
        return po

    def _check(self, d: int):
        if d != self.levels:
            raise CryoctlError(f"the realized CZ has {self.levels} levels per qubit, the register {d}: use a gate "
                               f"provider with {self.levels} levels", field="levels")

    def apply_state(self, psi: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """psi (P, B, d^n) -> U_k ... U_1 psi, each U on its pair's two axes."""
        self._check(d)
        if self.noisy:
            raise CryoctlError("a realized CZ with T1/T2 is a channel: it needs density-matrix execution", field="mode")
        P, B = psi.shape[:2]
        t = psi.reshape((P, B) + (d,) * n)
        for a, b in pairs:
            po = self.pair(a, b)
            t = apply_on_axes(t, po.operation, [2 + q for q in po.qubits])
        return t.reshape(P, B, d**n)

    def undo_state(self, psi: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """U_1' ... U_k' psi: the inverse of :meth:`apply_state` (the adjoint's backward sweep)."""
        self._check(d)
        if self.noisy:
            raise CryoctlError("a realized CZ with T1/T2 has no inverse", field="mode")
        P, B = psi.shape[:2]
        t = psi.reshape((P, B) + (d,) * n)
        for a, b in reversed(list(pairs)):
            po = self.pair(a, b)
            t = apply_on_axes(t, np.conj(po.operation).T, [2 + q for q in po.qubits])
        return t.reshape(P, B, d**n)

    def apply_density(self, rho: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """rho (P, B, d^n, d^n) -> the block applied: U rho U' (unitary: U on the ket axes, U* on the bra
        axes) or S on the (ket a, ket b, bra a, bra b) axes (channel)."""
        self._check(d)
        P, B = rho.shape[:2]
        t = rho.reshape((P, B) + (d,) * (2 * n))
        for a, b in pairs:
            po = self.pair(a, b)
            ket = [2 + q for q in po.qubits]
            bra = [2 + n + q for q in po.qubits]
            if self.noisy:
                t = apply_on_axes(t, po.operation, ket + bra)
            else:
                t = apply_on_axes(apply_on_axes(t, po.operation, ket), np.conj(po.operation), bra)
        return t.reshape(P, B, d**n, d**n)


def _coupled_pair(profile, a: int, b: int) -> tuple[int, int]:
    """(a, b) in the orientation of the profile's coupling, or a CryoctlError naming the couplings."""
    for c in profile.couplings:
        if set(c.qubits) == {a, b} and a != b:
            return tuple(int(q) for q in c.qubits)
    known = [list(c.qubits) for c in profile.couplings]
    raise CryoctlError(f"CZ on qubits ({a}, {b}), which profile {profile.name!r} does not couple (couplings: "
                       f"{known}); a QNN's CZ ring (0,1),(1,2),...,(n-1,0) needs every ring pair coupled",
                       field="couplings")


# --- building and caching the pair operations ---------------------------------------------------------------------

_MEMO: dict[str, PairOp] = {}


def realized_pair_key(profile, qubits: tuple[int, int], engine: str, open_system: bool) -> str:
    """Hash of exactly what one pair's realized CZ depends on: the flux section (DAC, line, predistortion,
    pulse shape) with only the pair's two tunable entries, the pair's indices (the flux DAC of qubit q is
    converter q: its mismatch), the coupling J, both transmons, the virtual-Z phase words, the engine,
    open/closed system and the gates code version. The XY DAC, readout, cost and the other qubits are
    not in it: sweeping them reuses the calibrated CZ."""
    from cryoctl.gates.cache import CODE_VERSION
    from cryoctl.profile.hashing import content_hash

    flux = profile.flux.model_dump(mode="json")
    tunable = {t["index"]: t for t in flux.pop("qubits")}
    data = {
        "what": "realized-cz", "qubits": list(qubits), "flux": flux,
        "tunable": [tunable.get(q) for q in qubits], "j_ghz": profile.coupling_ghz(*qubits),
        "transmons": [profile.transmon(q).model_dump(mode="json") for q in qubits],
        "phase_bits": profile.pulse.phase_bits, "engine": engine, "open_system": bool(open_system),
        "code": CODE_VERSION,
    }
    return content_hash(data)


def realized_pair(profile, qubits: tuple[int, int], *, engine: str = "fast", open_system: bool | None = None,
                  cache_dir=None, disk_cache: bool = True) -> PairOp:
    """The realized CZ of one coupled pair: :func:`cryoctl.gates.cz.build_cz`, cached.

    Cache: in-process (a dict keyed by :func:`realized_pair_key`: one calibration per pair and process)
    and on disk next to the gate tables (``cryoctl cache list|prune`` see it as a table entry):
    ``gates-<key>-<engine>-cz<a>-<b>-<unitary|lindblad>-<CODE_VERSION>.npz``, written atomically. A
    calibration costs 0.1 s (closed system) to seconds (Lindblad, distorted lines, many pairs), paid once
    per profile per machine instead of once per process (CLI train then infer, study workers). A file
    that does not parse, has the wrong shape, another key or a non-finite number is rebuilt.
    """
    from cryoctl.gates.cache import CODE_VERSION, atomic_write, cache_path
    from cryoctl.gates.cz import CzPair, build_cz

    qubits = (int(qubits[0]), int(qubits[1]))
    if open_system is None:
        open_system = CzPair.from_profile(profile, qubits).model.is_open
    key = realized_pair_key(profile, qubits, engine, open_system)
    if key in _MEMO:
        return _MEMO[key]
    d = profile.qubits.levels
    side = d**4 if open_system else d * d
    path = None
    if disk_cache:
        how = "lindblad" if open_system else "unitary"
        path = cache_path(cache_dir, f"gates-{key}-{engine}-cz{qubits[0]}-{qubits[1]}-{how}-{CODE_VERSION}.npz")
        po = _load_pair(path, key, side)
        if po is not None:
            _MEMO[key] = po
            return po
    built = build_cz(profile, qubits, engine=engine, open_system=open_system)
    cal, m = built.calibration, built.metrics
    info = {"key": key, "qubits": list(qubits), "phase_error": float(m.phase_error), "conditional_phase": float(m.conditional_phase),
            "leakage": float(m.leakage), "fidelity": float(m.fidelity), "theta_a": float(m.theta_a),
            "theta_b": float(m.theta_b), "amplitude_code": int(cal.amplitude_code), "n_samples": int(cal.n_samples),
            "gate_time_ns": float(cal.gate_time_ns), "open_system": bool(open_system), "engine": engine}
    op = np.ascontiguousarray(built.operation, dtype=np.complex128)
    if op.shape != (side, side) or not np.all(np.isfinite(op)):
        raise RuntimeError(f"realized CZ of {qubits}: shape {op.shape} or non-finite values")  # a bug, not a user error
    po = PairOp(qubits, op, info)
    if path is not None:
        def write(fh):
            np.savez(fh, operation=op, info=np.array(json.dumps(info)))
        atomic_write(path, write)
    _MEMO[key] = po
    return po


def _load_pair(path, key: str, side: int) -> PairOp | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            op = np.asarray(z["operation"])
            info = json.loads(str(z["info"]))
        if (not isinstance(info, dict) or info.get("key") != key or op.shape != (side, side) or not np.all(np.isfinite(op))
                or len(info.get("qubits", ())) != 2):
            return None
        return PairOp(tuple(int(q) for q in info["qubits"]), op.astype(np.complex128), info)
    except Exception:  # noqa: BLE001 -- any unreadable file is a miss: rebuilt and replaced
        return None


def clear_memo() -> None:
    """Forget the in-process realized CZs (tests, or to force a re-read of the disk cache)."""
    _MEMO.clear()


def entangler_for(profile, pairs=None, choice: str = "auto", *, engine: str = "fast", cache_dir=None):
    """The entangler a profile's circuits run with: ``auto`` -> :class:`RealizedCZ` when the profile has a
    flux section, else :class:`IdealCZ` (``qubits.cz_error``); ``ideal`` / ``realized`` force one.
    ``pairs``: the circuit's CZ pairs (default every coupling); each must be a coupling of the profile."""
    if choice not in ENTANGLERS:
        raise CryoctlError(f"unknown entangler {choice!r}; expected one of {', '.join(ENTANGLERS)}", field="entangler")
    if choice == "ideal" or (choice == "auto" and getattr(profile, "flux", None) is None):
        return IdealCZ.from_profile(profile)
    return RealizedCZ.from_profile(profile, pairs, engine=engine, cache_dir=cache_dir)


def circuit_pairs(circuit) -> list[tuple[int, int]]:
    """The distinct CZ pairs of a circuit, in order of first use."""
    out: list[tuple[int, int]] = []
    for g in circuit.gates:
        if isinstance(g, CZ) and frozenset((g.a, g.b)) not in [frozenset(p) for p in out]:
            out.append((g.a, g.b))
    return out
