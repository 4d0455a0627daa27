"""A QNN's executor on a hardware profile: the profile's gate table, entangler and readout.

Gates: the realized single-qubit table of the profile (:func:`cryoctl.gates.load_or_build`: DAC codes ->
pulses -> transmon, cached on disk). Entangler (``entangler``):

- ``auto`` (default): the realized flux CZ when the profile has a ``flux`` section
  (:class:`cryoctl.circuit.RealizedCZ`: every CZ pair of the circuit calibrated through the quantized
  flux DAC, virtual-Z corrected, leakage kept), else the ideal CZ with the profile's ``qubits.cz_error``;
- ``ideal``: the ideal CZ (with ``qubits.cz_error``) even on a flux profile, for comparison;
- ``realized``: the realized CZ (an error without a flux section).

The CZ pairs a circuit uses must be couplings of the profile: the QNN ansatze put a CZ ring
(0,1),(1,2),...,(n-1,0) after every layer, so a flux profile for a 4-qubit QNN needs the four ring
couplings, and each ring pair a flux CZ: one qubit tunable and idling above the other's f_01 - alpha
(an even ring alternating high tunable / low qubits works; see README 'Realized CZ in circuits').
``qubits.cz_error`` applies to the ideal entangler only. The ``hea`` ansatze put their CZs on the
profile's coupled pairs instead (:func:`cryoctl.qnn.models.resolve_ansatz`).

The executor is a :class:`cryoctl.circuit.memory.ChunkedExecutor`: every run is checked against the
memory limit and chunked along its batch; :func:`hardware_mode` tells, before any table is built,
whether the profile's circuits run as pure states or density matrices (for the estimate).

SFQ control (``profile.sfq`` set): the gate table is the SFQ table of
:func:`cryoctl.gates.sfq.build_sfq_table` (resonant trains or rotations compiled from an optimized Y(pi/2)
bitstream, ``sfq.table``) instead of the DAC table; with ``sfq.jitter_rms_ps`` > 0 it is a channel table
averaged over ``n_noise_draws`` jitter draws (default 8) seeded by ``seed``. The SFQ profiles have no flux
line, so ``auto`` is the ideal CZ with ``qubits.cz_error``.
"""

from __future__ import annotations

from cryoctl.circuit import Readout, TableProvider, circuit_pairs, entangler_for
from cryoctl.circuit.memory import ChunkedExecutor

#: jitter draws averaged into an SFQ channel table when the caller gives no ``n_noise_draws``
SFQ_JITTER_DRAWS = 8


def hardware_executor(profile, circuit, *, entangler: str = "auto", engine: str = "fast", seed: int = 0,
                      n_noise_draws: int | None = None, readout: Readout | None = None, cache_dir=None,
                      progress=None) -> ChunkedExecutor:
    """Executor of ``circuit`` on ``profile``'s emulated hardware (module docstring); ``readout``
    defaults to the profile's (assignment errors and shots)."""
    from cryoctl.gates import load_or_build

    ent = entangler_for(profile, circuit_pairs(circuit), entangler, engine=engine, cache_dir=cache_dir)
    if profile.sfq is not None:
        from cryoctl.gates.sfq import build_sfq_table

        table = build_sfq_table(profile, seed=seed, jitter_draws=SFQ_JITTER_DRAWS if n_noise_draws is None
                                else n_noise_draws)
    else:
        table = load_or_build(profile, engine, seed, cache_dir=cache_dir, n_noise_draws=n_noise_draws,
                              progress=progress)
    return ChunkedExecutor(TableProvider(table), entangler=ent,
                    readout=readout if readout is not None else Readout.from_profile(profile))


def hardware_mode(profile, entangler: str = "auto") -> tuple[str, int]:
    """(mode, levels) the profile's circuits run in, known before any table is built: density matrices
    when the gate table holds channels (DAC noise or jitter, T1/T2: :func:`cryoctl.gates.plan.table_kind`;
    SFQ clock jitter) or the entangler is noisy (ideal CZ with ``qubits.cz_error`` > 0, realized CZ with
    T1/T2), else pure states; levels = ``qubits.levels``."""
    from cryoctl.gates.plan import has_decoherence, table_kind

    realized = entangler == "realized" or (entangler == "auto" and getattr(profile, "flux", None) is not None)
    noisy_cz = has_decoherence(profile) if realized else profile.qubits.cz_error > 0
    sfq = getattr(profile, "sfq", None)
    noisy_table = table_kind(profile) == "channel" or (sfq is not None and getattr(sfq, "jitter_rms_ps", 0) > 0)
    return ("density" if noisy_table or noisy_cz else "statevector"), int(profile.qubits.levels)
