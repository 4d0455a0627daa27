"""Study tasks on SFQ profiles: ``sfq`` (Y(pi/2) bitstreams), ``gates`` (the SFQ table), ``cost`` (driver power)."""

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.gates import table_metrics
from cryoctl.gates.metrics import rotation
from cryoctl.gates.sfq import SfqQubit, build_sfq_table, qubit_fidelity
from cryoctl.profile import load_profile
from cryoctl.study.tasks import get_task, result_problem, validate_task


def _run(kind: str, prof, **params):
    task = get_task(kind)
    out = task.fn(prof, validate_task({"kind": kind, **params}), 3)
    assert result_problem(task, out) is None
    return out


def test_sfq_task_reports_resonant_and_optimized_y90_with_the_profiles_jitter():
    prof = load_profile("sfq_ersfq")
    r = _run("sfq", prof, extra_periods=[4], jitter_draws=8, rounds=80)
    assert r["clock_per_qubit"] == 4 and r["jitter_rms_ps"] == 1.0
    assert r["resonant_y90_infidelity"] == pytest.approx(2.74e-3, rel=0.01) and r["resonant_y90_ticks"] == 209
    assert r["y90_ticks"] == 228 and r["y90_infidelity"] < 1e-2 * r["resonant_y90_infidelity"]
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(r["y90_bits_hex"]), np.uint8))[:228].astype(bool)
    u = SfqQubit.from_profile(prof).kp.gate(bits)
    assert 1 - qubit_fidelity(u, rotation("y", np.pi / 2)) == pytest.approx(r["y90_infidelity"], rel=1e-9)
    # 1 ps of jitter adds 1e-5..1e-4 to the optimized gate
    assert 1e-5 < r["y90_jitter_infidelity"] - r["y90_infidelity"] < 1e-4
    with pytest.raises(CryoctlError) as e:
        _run("sfq", load_profile("cryo_cmos_6bit"))
    assert e.value.field == "sfq"


def test_gates_task_on_an_sfq_profile_is_its_sfq_table():
    prof = load_profile("sfq_rsfq")
    r = _run("gates", prof, n_noise_draws=4)
    want = table_metrics(build_sfq_table(prof, seed=3, jitter_draws=4))
    assert r["bits"] == 8 and r["kind"] == "channel" and r["fidelity_mean"] == want["fidelity_mean"]
    assert 1 - r["fidelity_mean"] < 3e-4


def test_cost_task_on_sfq_profiles_is_the_driver_power():
    e, rs = _run("cost", load_profile("sfq_ersfq")), _run("cost", load_profile("sfq_rsfq"))
    assert e["static_power_w"] == 0.0 and rs["static_power_w"] == pytest.approx(1000 * 100e-6 * 2.5e-3)
    assert rs["power_per_qubit_w"] == rs["static_power_w"] + rs["dynamic_power_w"]
    assert e["control"] == "sfq" and e["bits"] == 8
