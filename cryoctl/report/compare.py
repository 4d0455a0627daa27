"""Side-by-side comparison of hardware profiles: key DAC fields, cost numbers, qubits that fit."""

from __future__ import annotations

from typing import Any

from cryoctl.cost import cost_report
from cryoctl.profile import HardwareProfile, profile_hash

#: (row key, label, unit) in display order.
COMPARE_ROWS = [
    ("bits", "DAC bits", ""),
    ("architecture", "architecture", ""),
    ("sample_rate_gsps", "sample rate", "GS/s"),
    ("full_scale_v", "full scale", "V"),
    ("unit_mismatch_sigma", "unit mismatch sigma", ""),
    ("noise_v_per_sqrt_hz", "output noise", "V/sqrt(Hz)"),
    ("jitter_rms_ps", "clock jitter", "ps rms"),
    ("amplitude_mode", "amplitude mode", ""),
    ("temperature_k", "temperature", "K"),
    ("channel_power_w", "power per channel", "W"),
    ("thermal_floor_w", "thermal floor per channel", "W"),
    ("power_per_qubit_w", "power per qubit", "W"),
    ("system_power_w", "system power", "W"),
    ("stage_budget_w", "stage budget", "W"),
    ("qubits_that_fit", "qubits that fit", ""),
    ("sigma_u", "sigma_u used for area", ""),
    ("area_basis", "area basis", ""),
    ("unit_area_um2", "unit-source area", "um^2"),
    ("area_per_qubit_mm2", "area per qubit", "mm^2"),
    ("system_area_mm2", "system area", "mm^2"),
]


def compare_profiles(profiles: list[HardwareProfile]) -> list[dict[str, Any]]:
    """One record per profile: name, hash, key DAC/pulse fields and the :func:`cost_report` numbers."""
    out = []
    for p in profiles:
        rec: dict[str, Any] = {"name": p.name, "profile_hash": profile_hash(p), "qubits": p.qubits.count}
        rec.update({k: getattr(p.dac, k) for k in ("bits", "architecture", "sample_rate_gsps", "full_scale_v",
                                                    "unit_mismatch_sigma", "noise_v_per_sqrt_hz", "jitter_rms_ps")})
        rec["amplitude_mode"] = p.pulse.amplitude_mode
        rec.update(cost_report(p))
        out.append(rec)
    return out
