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
``qubits.cz_error`` applies to the ideal entangler only.
"""

from __future__ import annotations

from cryoctl.circuit import Executor, Readout, TableProvider, circuit_pairs, entangler_for


def hardware_executor(profile, circuit, *, entangler: str = "auto", engine: str = "fast", seed: int = 0,
                      n_noise_draws: int | None = None, readout: Readout | None = None, cache_dir=None,
                      progress=None) -> Executor:
    """Executor of ``circuit`` on ``profile``'s emulated hardware (module docstring); ``readout``
    defaults to the profile's (assignment errors and shots)."""
    from cryoctl.gates import load_or_build

    ent = entangler_for(profile, circuit_pairs(circuit), entangler, engine=engine, cache_dir=cache_dir)
    table = load_or_build(profile, engine, seed, cache_dir=cache_dir, n_noise_draws=n_noise_draws, progress=progress)
    return Executor(TableProvider(table), entangler=ent,
                    readout=readout if readout is not None else Readout.from_profile(profile))
