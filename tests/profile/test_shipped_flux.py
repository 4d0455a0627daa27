"""Shipped flux profiles (`*_flux`): their controller is the single-qubit profile's, their chip is one and the
same tunable 4-qubit ring, and every pair can reach its CZ point through the flux DAC."""

import pytest

from cryoctl.gates.cz import CzPair
from cryoctl.profile import load_profile, profile_hash, resolve_profile_path, shipped_profiles

FLUX = {"cryo_cmos_6bit_flux": "cryo_cmos_6bit", "awg_16bit_rt_flux": "awg_16bit_rt", "rfsoc_14bit_flux": "rfsoc_14bit"}
CHIP_KEYS = ("qubits", "line", "full_scale_phi0", "rise_ns", "buffer_ns")


def test_flux_profiles_are_shipped_and_the_single_qubit_ones_stay_flux_free():
    names = {p.stem for p in shipped_profiles()}
    assert set(FLUX) <= names
    for parent in FLUX.values():
        p = load_profile(parent)
        assert p.flux is None and p.couplings == ()


@pytest.mark.parametrize("name", sorted(FLUX))
def test_flux_profile_is_its_parent_plus_flux_and_couplings(name):
    p, parent = load_profile(name), load_profile(FLUX[name])
    assert p.name == name and p.description and profile_hash(p) != profile_hash(parent)
    same = {"dac", "pulse", "qubits", "readout", "cost"}
    assert {k: getattr(p, k) for k in same} == {k: getattr(parent, k) for k in same}  # the controller is unchanged
    # published-style flux DACs: 12+ bits (DESIGN.md)
    assert p.flux.dac.bits >= 12 and p.flux.dac.bits >= p.dac.bits
    assert p.flux.predistortion is not None and p.flux.line.tails
    text = resolve_profile_path(name).read_text()
    assert text.lstrip().startswith("#") and "assum" in text.lower()  # numbers cited or marked as assumptions


def test_all_flux_profiles_share_one_chip():
    chips = []
    for name in FLUX:
        p = load_profile(name)
        chip = {k: getattr(p.flux, k) for k in CHIP_KEYS}
        chip["line"] = p.flux.line.tails  # the bias tee is the controller's wiring, the tails the chip's
        chips.append((p.couplings, chip))
    assert all(c == chips[0] for c in chips[1:])
    couplings, chip = chips[0]
    # the QNN ansaetze' CZ ring 0-1-2-3-0, J/2pi in the published 5-20 MHz
    assert [tuple(c.qubits) for c in couplings] == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert all(5.0 <= c.j_mhz <= 20.0 for c in couplings)
    assert [q.index for q in chip["qubits"]] == [0, 1, 2, 3] and all(q.asymmetry < 1 for q in chip["qubits"])


@pytest.mark.parametrize("name", sorted(FLUX))
def test_every_pair_reaches_its_cz_point_inside_the_flux_range(name):
    p = load_profile(name)
    for c in p.couplings:
        pair = CzPair.from_profile(p, tuple(c.qubits))
        # the high qubit (6.0 / 6.1 GHz) is fluxed down to f_low + 0.3 GHz (alpha = -0.3 GHz)
        assert pair.qubits[pair.fluxed] in (0, 2)
        assert pair.target_frequency_ghz == pytest.approx(pair.idle_ghz[1 - pair.fluxed] + 0.3, abs=1e-12)
        # ~0.22 Phi_0 of a +-0.5 Phi_0 full scale: the amplitude code sits at 40-50 % of the positive range
        frac = pair.guess_code / pair.drive.dac.code_max
        assert 0.4 < frac < 0.5, (c.qubits, frac)
        # the swap time pi / (sqrt(2) J): 35.4 ns at 10 MHz
        assert pair.swap_time_ns == pytest.approx(1e3 / (2 * 2**0.5 * c.j_mhz), rel=1e-12)
