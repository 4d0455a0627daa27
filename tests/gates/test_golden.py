"""Golden regression: a small noisy, decohering table (3 bits, 1 transmon) against a stored copy.

The stored table (``data/golden_3bit.npz``: the table's ``to_npz_arrays`` plus the
:data:`~cryoctl.gates.cache.CODE_VERSION` it was made with) pins every number of the chain DAC ->
pulse -> physics -> noise average -> calibration to 1e-12. A change that alters the numbers must bump
CODE_VERSION (so cached tables are not reused) and regenerate the file with

    .venv/bin/python tests/gates/test_golden.py

(the test says so when the versions differ).
"""

from pathlib import Path

import numpy as np
import pytest

from cryoctl.conventions import DRIVE_AXES
from cryoctl.gates import CODE_VERSION, GateTable, build_gate_table, calibrate
from cryoctl.profile import validate_profile

DATA = Path(__file__).parent / "data" / "golden_3bit.npz"
REGENERATE = "python tests/gates/test_golden.py"
PROFILE = {
    "name": "golden",
    "dac": {"bits": 3, "unit_mismatch_sigma": 0.03, "mismatch_seed": 4, "gain_error": 0.01,
            "noise_v_per_sqrt_hz": 2e-8, "jitter_rms_ps": 20.0},
    "pulse": {"shape": "drag"},
    "qubits": {"count": 1, "levels": 3, "t1_us": 20.0, "t2_us": 15.0},
}


def build() -> GateTable:
    p = validate_profile(PROFILE)
    return build_gate_table(p, calibration=calibrate(p, use_cache=False))


def regenerate(path: Path = DATA) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, code_version=np.array(CODE_VERSION), **build().to_npz_arrays())


def test_table_matches_the_golden_copy():
    with np.load(DATA, allow_pickle=False) as z:
        stored = {k: z[k] for k in z.files}
    version = str(stored.pop("code_version"))
    if version != CODE_VERSION:
        pytest.fail(f"{DATA.name} was made with CODE_VERSION {version!r}, the code is {CODE_VERSION!r}: "
                    f"check that the numeric change is intended, then regenerate it with `{REGENERATE}`")
    want, got = GateTable.from_npz_arrays(stored), build()
    assert (got.kind, got.bits, got.levels, got.n_qubits) == ("channel", 3, 3, 1)
    assert got.meta["noise_average"] == want.meta["noise_average"]
    hint = f"numbers changed without a CODE_VERSION bump (then run `{REGENERATE}`)"
    for axis in DRIVE_AXES:
        np.testing.assert_allclose(got.ops[axis], want.ops[axis], rtol=0, atol=1e-12, err_msg=hint)
    for name in ("pi_codes", "drag_beta", "pi_angle", "steps", "angles"):
        np.testing.assert_allclose(getattr(got.calibration, name), getattr(want.calibration, name),
                                   rtol=0, atol=1e-12, err_msg=f"calibration.{name}: {hint}")


if __name__ == "__main__":
    regenerate()
    print(f"wrote {DATA} (CODE_VERSION {CODE_VERSION})")
