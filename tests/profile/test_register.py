"""Per-qubit transmon parameters, the coupling map and the channel list of a profile."""

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile import load_profile, profile_hash


def test_per_qubit_overrides_resolve_over_the_defaults():
    p = load_profile(
        "cryo_cmos_6bit",
        ["qubits.per_qubit=[{index: 2, t1_us: 30.0, anharmonicity_ghz: -0.25}, {index: 0, detuning_ghz: 0.001}]"],
    )
    t2 = p.transmon(2)
    assert (t2.t1_us, t2.anharmonicity_ghz, t2.t2_us, t2.detuning_ghz) == (30.0, -0.25, 40.0, 0.0)
    assert p.transmon(0).detuning_ghz == 0.001 and p.transmon(0).t1_us == 50.0
    assert p.transmon(1) == p.transmon(3)
    assert p.transmon(1).anharmonicity_ghz == p.qubits.anharmonicity_ghz


def test_existing_profiles_keep_their_hash_when_the_new_sections_are_unused():
    """Studies are keyed by the content hash: adding the optional sections must not re-key old stores."""
    base = load_profile("cryo_cmos_6bit")
    assert base.couplings == () and base.qubits.per_qubit == ()
    data = base.model_dump(mode="json")
    assert "couplings" in data and "per_qubit" in data["qubits"]
    with_pq = load_profile("cryo_cmos_6bit", ["qubits.per_qubit=[{index: 1, t1_us: 20.0}]"])
    assert profile_hash(with_pq) != profile_hash(base)
    coupled = load_profile("cryo_cmos_6bit", ["couplings=[{qubits: [0, 1], j_mhz: 10.0}]"])
    assert profile_hash(coupled) != profile_hash(base)


@pytest.mark.parametrize(
    "override,needle",
    [
        ("qubits.per_qubit=[{index: 4, t1_us: 30.0}]", "out of range"),
        ("qubits.per_qubit=[{index: 1, t1_us: 30.0}, {index: 1, t2_us: 20.0}]", "twice"),
        ("qubits.per_qubit=[{index: 1, t1_us: 10.0}]", "t2_us must be <= 2 * t1_us"),
        ("qubits.per_qubit=[{index: 1, anharmonicity_ghz: 0.0}]", "non-zero"),
        ("qubits.per_qubit=[{index: 1, levels: 4}]", "levels"),
        ("couplings=[{qubits: [0, 0], j_mhz: 10.0}]", "two different"),
        ("couplings=[{qubits: [0, 7], j_mhz: 10.0}]", "outside"),
        ("couplings=[{qubits: [0, 1], j_mhz: 10.0}, {qubits: [1, 0], j_mhz: 5.0}]", "twice"),
        ("couplings=[{qubits: [0, 1], j_mhz: -1.0}]", "j_mhz"),
    ],
)
def test_bad_register_is_refused_with_the_field(override, needle):
    with pytest.raises(CryoctlError) as exc:
        load_profile("cryo_cmos_6bit", [override])
    assert needle in str(exc.value)


def test_channels_follow_the_converter_numbering():
    p = load_profile("cryo_cmos_6bit")
    ch = p.channels()
    assert [(c.role, c.qubit, c.index) for c in ch[:4]] == [("xy_i", 0, 0), ("xy_q", 0, 1), ("xy_i", 1, 2), ("xy_q", 1, 3)]
    assert len(ch) == 2 * p.qubits.count and all(c.dac == p.dac for c in ch)


def test_coupling_lookup_and_transmon_range():
    p = load_profile("cryo_cmos_6bit", ["couplings=[{qubits: [1, 2], j_mhz: 12.5}]"])
    assert p.coupling_ghz(2, 1) == pytest.approx(0.0125) and p.coupling_ghz(0, 1) == 0.0
    with pytest.raises(CryoctlError) as exc:
        p.transmon(4)
    assert exc.value.field == "qubit"
