"""Python API in one page: a profile, its realized-gate table, a circuit run through the Executor.

The README shows this file verbatim (``tests/test_readme.py`` checks the copy and runs the file).
"""

import numpy as np

from cryoctl.circuit import CZ, Circuit, ExactProvider, Executor, Readout, Rot, TableProvider, entangler_for
from cryoctl.gates import load_or_build, table_metrics
from cryoctl.profile import load_profile, profile_hash

# 1. A shipped profile with one what-if override (a path to your own YAML works the same way).
profile = load_profile("cryo_cmos_6bit", ["dac.unit_mismatch_sigma=0.02"])
print(profile.name, profile.dac.bits, "bits, hash", profile_hash(profile))

# 2. Its realized gates: the operation every amplitude code plays on every qubit and axis, calibrated
#    through the quantized DAC, with DAC noise/jitter and T1/T2 averaged in (channels). Cached on disk
#    ($CRYOCTL_CACHE, else ~/.cache/cryoctl): the second call is a file read.
table = load_or_build(profile, "fast", seed=0)
m = table_metrics(table)
print(f"mean 1-F {m['infidelity_mean']:.2e}, max leakage {m['leakage_max']:.2e}")

# 3. A circuit: RY(theta_0) on qubit 0, RY(theta_1) on qubit 1, CZ, RY(theta_2) on qubit 1.
#    Rot(axis, qubit, "p", k) takes its angle from parameter k ("x" would take it from the data).
circuit = Circuit(2, (Rot("y", 0, "p", 0), Rot("y", 1, "p", 1), CZ(0, 1), Rot("y", 1, "p", 2)))

# 4. The executor: gate provider (the table) + entangler (the profile's CZ) + readout (its
#    assignment errors; shots=None: exact expectation values).
ex = Executor(TableProvider(table), entangler=entangler_for(profile, [(0, 1)]),
              readout=Readout.from_profile(profile, shots=None))

# 5. Angles become DAC codes once (nearest measured angle per channel); the circuit plays codes.
angles = np.array([np.pi / 2, np.pi / 2, -np.pi / 2])
codes = ex.encode_params(circuit, angles)
print("codes", codes.tolist(), "-> realized angles", np.round(ex.param_angles(circuit, codes), 4).tolist())

z = ex.expect(circuit, None, codes[None, :])  # <Z_q> read out: (parameter sets, samples, qubits)
print("<Z0>, <Z1> on the emulated hardware:", np.round(z[0, 0], 4).tolist())
ref = Executor(ExactProvider(2)).expect(circuit, None, angles[None, :])  # the same circuit, ideal gates
print("<Z0>, <Z1> with ideal gates:         ", np.round(ref[0, 0], 4).tolist())
