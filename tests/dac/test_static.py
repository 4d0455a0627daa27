"""DAC static transfer: ideal ladder, mismatch statistics against closed forms, determinism, INL
tables, code validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryoctl.dac import (
    Dac,
    dnl,
    draw_mismatch,
    element_units,
    inl,
    is_monotonic,
    levels_from_mismatch,
)
from cryoctl.errors import CryoctlError
from cryoctl.profile import DacSpec, load_profile


def spec(**kw) -> DacSpec:
    return DacSpec(**kw)


ARCHS = [dict(architecture="binary"), dict(architecture="thermometer"), dict(architecture="segmented", unary_msbs=3)]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("bits", [3, 8, 12])
def test_ideal_levels_are_code_times_lsb_exactly(bits, arch):
    s = spec(bits=bits, full_scale_v=0.8, **arch)
    dac = Dac(s)
    codes = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    assert dac.levels.shape == (2**bits,)
    assert np.array_equal(dac.levels, codes * (0.8 / 2 ** (bits - 1)))
    assert element_units(s).sum() == 2**bits - 1


def test_element_layout_per_architecture():
    assert list(element_units(spec(bits=4))) == [1, 2, 4, 8]
    assert list(element_units(spec(bits=3, architecture="thermometer"))) == [1] * 7
    # 2 binary LSBs (1, 2 units) + 2^3 - 1 unary segments of 4 units
    assert list(element_units(spec(bits=5, architecture="segmented", unary_msbs=3))) == [1, 2] + [4] * 7


def test_gain_and_offset_error():
    s = spec(bits=6, gain_error=0.03, offset_v=-0.04, full_scale_v=2.0)
    dac = Dac(s)
    codes = dac.codes
    np.testing.assert_allclose(dac.levels, 1.03 * codes * s.lsb_v - 0.04, rtol=0, atol=1e-15)
    # INL/DNL are defined from the actual average step: gain and offset leave them at zero
    np.testing.assert_allclose(inl(dac.levels), 0.0, atol=1e-12)
    np.testing.assert_allclose(dnl(dac.levels), 0.0, atol=1e-12)


def test_gain_offset_do_not_change_mismatch_inl():
    base = dict(bits=8, unit_mismatch_sigma=0.03, mismatch_seed=5)
    a, b = Dac(spec(**base)), Dac(spec(**base, gain_error=-0.1, offset_v=0.01))
    np.testing.assert_allclose(inl(a.levels), inl(b.levels), atol=1e-9)
    np.testing.assert_allclose(inl(a.levels, "bestfit"), inl(b.levels, "bestfit"), atol=1e-9)


def test_unit_current_model_by_hand():
    """3-bit binary, element currents W = (1+a, 2+b, 4+c) in units: V(u) = sum of set bits - 4."""
    s = spec(bits=3, unit_mismatch_sigma=0.1)
    z = np.array([0.5, -1.0, 2.0])
    w = np.array([1 + 0.1 * 0.5, 2 - 0.1 * np.sqrt(2), 4 + 0.1 * 2 * 2.0])
    u = np.arange(8)
    i_on = ((u & 1) > 0) * w[0] + ((u & 2) > 0) * w[1] + ((u & 4) > 0) * w[2]
    np.testing.assert_allclose(levels_from_mismatch(s, z), (i_on - 4) * s.lsb_v, atol=1e-15)


def test_segmented_by_hand():
    """3-bit, 2 unary MSBs: 1 binary LSB (1 unit) + 3 unary segments of 2 units, switched in order."""
    s = spec(bits=3, architecture="segmented", unary_msbs=2, unit_mismatch_sigma=0.1)
    z = np.array([1.0, 1.0, -1.0, 0.5])
    lsb, seg = 1 + 0.1, 2 + 0.1 * np.sqrt(2) * np.array([1.0, -1.0, 0.5])
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    i_on = np.array([cum[u >> 1] + (u & 1) * lsb for u in range(8)])
    np.testing.assert_allclose(levels_from_mismatch(s, z), (i_on - 4) * s.lsb_v, atol=1e-15)


def test_thermometer_is_monotonic_for_every_draw_and_dnl_spread_is_sigma():
    bits, n_chips = 10, 300
    for sigma in (0.01, 0.03, 0.05):
        s = spec(bits=bits, architecture="thermometer", unit_mismatch_sigma=sigma)
        lv = levels_from_mismatch(s, draw_mismatch(s, np.random.default_rng(11), n_chips))
        assert lv.shape == (n_chips, 2**bits)
        assert np.all(is_monotonic(lv))
        d = dnl(lv)
        # DNL_k = W_k / mean(W) - 1 with W_k ~ 1 + N(0, sigma^2)
        np.testing.assert_allclose(d.std(), sigma, rtol=0.02)
        per_chip = d.std(axis=-1)
        assert np.all(np.abs(per_chip / sigma - 1) < 0.15)
    # the same statistics from many Dac objects (distinct seeds = distinct chips)
    for seed in range(40):
        dac = Dac(spec(bits=8, architecture="thermometer", unit_mismatch_sigma=0.05, mismatch_seed=seed))
        assert is_monotonic(dac.levels)


def test_binary_is_not_monotonic_at_the_same_sigma():
    """Contrast: a 10-bit binary DAC with sigma_u = 5% has mid-code DNL spread 0.05 * 32 = 1.6 LSB."""
    s = spec(bits=10, unit_mismatch_sigma=0.05)
    lv = levels_from_mismatch(s, draw_mismatch(s, np.random.default_rng(3), 300))
    frac = 1 - np.mean(is_monotonic(lv))
    assert frac > 0.25  # >= P(DNL_mid < -1) = Phi(-1/1.6) = 0.27, plus the other major carries


@pytest.mark.parametrize("bits", [8, 12])
def test_binary_mid_code_dnl_and_inl_spread_closed_form(bits):
    """500 chips at once. Mid-code transition (0111.. -> 1000..): step = W_MSB - sum W_rest,
    var = sigma^2 (2^(N-1) + 2^(N-1) - 1) -> std DNL_mid = sigma sqrt(2^N - 1).
    Endpoint INL at mid code is a Brownian bridge: var = sigma^2 u (M - u) / M, u = 2^(N-1), M = 2^N - 1,
    i.e. ~ sigma sqrt(2^N) / 2: the INL spread grows as sqrt(2^N)."""
    sigma, n_chips = 0.01, 500
    s = spec(bits=bits, unit_mismatch_sigma=sigma)
    lv = levels_from_mismatch(s, draw_mismatch(s, np.random.default_rng(2024), n_chips))
    mid = 2 ** (bits - 1)
    dnl_mid = dnl(lv)[:, mid - 1]
    assert abs(dnl_mid.std() / (sigma * np.sqrt(2**bits - 1)) - 1) < 0.15
    m = 2**bits - 1
    inl_mid = inl(lv)[:, mid]
    assert abs(inl_mid.std() / (sigma * np.sqrt(mid * (m - mid) / m)) - 1) < 0.15


def test_binary_inl_spread_scales_as_sqrt_2N():
    sigma, n_chips = 0.01, 500
    spread = {}
    for bits in (8, 12):
        s = spec(bits=bits, unit_mismatch_sigma=sigma)
        lv = levels_from_mismatch(s, draw_mismatch(s, np.random.default_rng(bits), n_chips))
        spread[bits] = inl(lv)[:, 2 ** (bits - 1)].std()
    assert abs(spread[12] / spread[8] / 4.0 - 1) < 0.15  # sqrt(2^12 / 2^8) = 4


def test_segmented_worst_dnl_at_segment_boundaries():
    """Crossing into the next unary segment: step = W_seg - sum W_binary, var = sigma^2 (2^(B+1) - 1);
    inside the binary sub-DAC the worst carry has var sigma^2 (2^B - 1)."""
    sigma, bits, u_bits = 0.02, 10, 4
    b = bits - u_bits
    s = spec(bits=bits, architecture="segmented", unary_msbs=u_bits, unit_mismatch_sigma=sigma)
    lv = levels_from_mismatch(s, draw_mismatch(s, np.random.default_rng(9), 500))
    d = dnl(lv)
    boundary = np.arange(1, 2**u_bits) * 2**b - 1  # transition (h, 2^B - 1) -> (h + 1, 0)
    np.testing.assert_allclose(d[:, boundary].std(), sigma * np.sqrt(2 ** (b + 1) - 1), rtol=0.06)
    inner = 2 ** (b - 1) - 1 + np.arange(2**u_bits) * 2**b  # binary MSB carry inside a segment
    np.testing.assert_allclose(d[:, inner].std(), sigma * np.sqrt(2**b - 1), rtol=0.06)


def test_same_seed_same_chip_and_channels_differ():
    s = spec(bits=10, architecture="segmented", unary_msbs=4, unit_mismatch_sigma=0.02, mismatch_seed=7)
    a, b = Dac(s, channel=3), Dac(s, channel=3)
    assert np.array_equal(a.levels, b.levels)  # bit-identical
    assert not np.array_equal(a.levels, Dac(s, channel=4).levels)
    other_chip = Dac(s.model_copy(update={"mismatch_seed": 8}), channel=3)
    assert not np.array_equal(a.levels, other_chip.levels)
    # the chip is drawn from default_rng([seed, channel])
    z = draw_mismatch(s, np.random.default_rng([7, 3]))
    assert np.array_equal(a.levels, levels_from_mismatch(s, z))


def test_sigma_scales_the_same_chip():
    """The draws do not depend on sigma_u: the error pattern of one chip scales linearly with it."""
    base = dict(bits=9, architecture="segmented", unary_msbs=4, mismatch_seed=1)
    ideal = Dac(spec(**base)).levels
    e1 = Dac(spec(**base, unit_mismatch_sigma=0.01)).levels - ideal
    e3 = Dac(spec(**base, unit_mismatch_sigma=0.03)).levels - ideal
    np.testing.assert_allclose(e3, 3 * e1, rtol=1e-9, atol=1e-15)


def test_inl_table_reproduced_and_replaces_mismatch():
    bits = 6
    rng = np.random.default_rng(0)
    table = rng.normal(0, 0.4, 2**bits)
    table[[0, -1]] = 0.0  # a measured endpoint INL is zero at both ends
    s = spec(bits=bits, inl_table_lsb=tuple(table), unit_mismatch_sigma=0.2, gain_error=0.02, offset_v=0.005)
    dac = Dac(s)
    np.testing.assert_allclose(inl(dac.levels, "endpoint"), table, rtol=0, atol=1e-12)
    # not endpoint-referenced: the endpoint INL is the table minus its endpoint line, in units of
    # the actual average step (1 + 0.01) LSB
    t2 = table + 0.3 + 0.01 * np.arange(2**bits)
    dac2 = Dac(spec(bits=bits, inl_table_lsb=tuple(t2)))
    np.testing.assert_allclose(inl(dac2.levels), table / 1.01, atol=1e-12)
    # the unit mismatch is ignored, so the seed does not matter
    assert np.array_equal(dac.levels, Dac(s.model_copy(update={"mismatch_seed": 99}), channel=5).levels)


def test_inl_table_from_csv(tmp_path):
    table = np.round(np.sin(np.arange(16) / 15 * np.pi) * 0.5, 6)
    (tmp_path / "inl.csv").write_text("code,inl_lsb\n" + "".join(f"{c},{v}\n" for c, v in zip(range(-8, 8), table)))
    (tmp_path / "p.yaml").write_text("name: t\ndac:\n  bits: 4\n  inl_table_csv: inl.csv\n")
    dac = Dac(load_profile(tmp_path / "p.yaml"))
    np.testing.assert_allclose(inl(dac.levels), table, atol=1e-12)


def test_static_shapes_and_lookup():
    dac = Dac(spec(bits=5, unit_mismatch_sigma=0.05, mismatch_seed=2))
    codes = np.random.default_rng(1).integers(-16, 16, size=(3, 4, 7))
    v = dac.static(codes)
    assert v.shape == (3, 4, 7)
    assert np.array_equal(v, dac.levels[codes + 16])
    assert dac.static(np.int16(-16)) == dac.levels[0]
    assert np.array_equal(dac.static(codes.astype(float)), v)  # integral floats are fine
    assert np.array_equal(dac.static([15, -16]), dac.levels[[31, 0]])


@pytest.mark.parametrize(
    "bad, needle",
    [
        (np.array([0, 8]), "got 8"),
        (np.array([[-9, 0]]), "got -9"),
        (np.array([1.5]), "non-integer"),
        (np.array([np.nan]), "non-integer"),
        (np.array(["3"]), "dtype"),
        (np.array([2**40], dtype=np.uint64), "got"),
    ],
)
def test_bad_codes_raise_with_field_and_range(bad, needle):
    dac = Dac(spec(bits=4))
    with pytest.raises(CryoctlError) as exc:
        dac.static(bad)
    assert exc.value.field == "code"
    assert "[-8, 7]" in str(exc.value) and needle in str(exc.value)
    with pytest.raises(CryoctlError):
        dac.render(bad)


def test_levels_read_only_and_bad_channel():
    dac = Dac(spec(bits=4))
    with pytest.raises(ValueError):
        dac.levels[0] = 1.0
    for ch in (-1, 1.5, "0"):
        with pytest.raises(CryoctlError) as exc:
            Dac(spec(bits=4), channel=ch)
        assert exc.value.field == "channel"


@settings(max_examples=40, deadline=None)
@given(
    bits=st.integers(1, 11),
    unary=st.integers(0, 11),
    sigma=st.floats(0.0, 0.1),
    seed=st.integers(0, 2**31),
    gain=st.floats(-0.2, 0.2),
    offset=st.floats(-3, 3),
)
def test_transfer_invariants(bits, unary, sigma, seed, gain, offset):
    """Any binary/segmented split: the bottom code switches nothing on, the top code every element
    current drawn from default_rng([seed, channel]); DNL and best-fit INL are invariant under gain
    and offset."""
    unary = min(unary, bits)
    arch = {0: dict(architecture="binary")}.get(unary, dict(architecture="segmented", unary_msbs=unary))
    s = DacSpec(bits=bits, unit_mismatch_sigma=sigma, mismatch_seed=seed, **arch)
    dac = Dac(s)
    z = draw_mismatch(s, np.random.default_rng([seed, 0]))
    w = element_units(s) + sigma * np.sqrt(element_units(s)) * z
    # bottom code: nothing on; top code: every element on
    assert dac.levels[0] == pytest.approx(-(2 ** (bits - 1)) * s.lsb_v, abs=1e-12)
    assert dac.levels[-1] == pytest.approx((w.sum() - 2 ** (bits - 1)) * s.lsb_v, rel=1e-12)
    skewed = Dac(s.model_copy(update={"gain_error": gain, "offset_v": offset * s.lsb_v}))
    if np.ptp(dac.levels) > 0:
        np.testing.assert_allclose(dnl(skewed.levels), dnl(dac.levels), atol=1e-8)
        np.testing.assert_allclose(inl(skewed.levels, "bestfit"), inl(dac.levels, "bestfit"), atol=1e-8)
