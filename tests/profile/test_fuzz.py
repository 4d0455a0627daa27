"""Property test: random and garbled profile documents -- only CryoctlError ever escapes the loader.

Inputs: arbitrary JSON-like values, profile-shaped dicts with real and random keys and wrong-typed
values, random bytes written to a file, random mutations of the shipped YAML files, random --set strings.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryoctl.errors import CryoctlError
from cryoctl.profile import SHIPPED_DIR, HardwareProfile, load_profile, profile_hash, validate_profile
from cryoctl.profile.models import CostSpec, DacSpec, PulseSpec, QubitSpec, ReadoutSpec

FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SECTIONS = {"dac": DacSpec, "pulse": PulseSpec, "qubits": QubitSpec, "readout": ReadoutSpec, "cost": CostSpec}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["binary", "segmented", "thermometer", "gaussian", "drag", "scaled", "sampled", "bessel"]),
)
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                       max_size=4), max_leaves=12)


SHIPPED_DUMPS = [load_profile(f).model_dump(mode="json") for f in sorted(SHIPPED_DIR.glob("[a-z]*.yaml"))]
plausible = st.one_of(st.integers(-3, 30), st.floats(-1.0, 30.0), st.none(), st.just(0), st.just(1e-9))


@st.composite
def profile_like(draw):
    """A shipped profile (as a plain dict) with a few fields replaced by plausible or garbage values,
    sections dropped or replaced, and unknown keys added."""
    doc = dict(draw(st.sampled_from(SHIPPED_DUMPS)))
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from([*SECTIONS, "name", "description"]))
        action = draw(st.integers(0, 9))
        if action == 0:
            doc.pop(section, None)
        elif action == 1 or section in ("name", "description"):
            doc[section] = draw(values)
        else:
            body = dict(doc[section]) if isinstance(doc.get(section), dict) else {}
            field = draw(st.sampled_from(sorted(SECTIONS[section].model_fields)))
            body[field] = draw(plausible if action < 7 else st.one_of(scalars, values))
            if action == 9:
                body[draw(st.text(min_size=1, max_size=6))] = draw(values)
            doc[section] = body
    return doc


def check(fn, *args):
    """Call fn; success must give a HardwareProfile, failure must be a CryoctlError with a message."""
    try:
        p = fn(*args)
    except CryoctlError as exc:
        assert str(exc).strip()
        return None
    assert isinstance(p, HardwareProfile)
    profile_hash(p)  # a validated profile can always be hashed
    return p


@FUZZ
@given(values)
def test_random_values_only_raise_cryoctl_error(doc):
    check(validate_profile, doc)


@FUZZ
@given(profile_like())
def test_profile_shaped_garbage_only_raises_cryoctl_error(doc):
    p = check(validate_profile, doc)
    if p is not None:  # whatever passed must satisfy the documented invariants
        assert 1 <= p.dac.bits <= 24 and p.dac.sample_rate_gsps > 0 and p.cost.temperature_k > 0


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        for f in SHIPPED_DIR.glob("*.yaml"):
            shutil.copy(f, d)
        yield Path(d)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_files_only_raise_cryoctl_error(workdir, data):
    path = workdir / "random.yaml"
    path.write_bytes(data)
    check(load_profile, path)


SHIPPED_TEXT = {f.name: f.read_text() for f in sorted(SHIPPED_DIR.glob("*.yaml"))}
YAML_BITS = [":", "-", "[", "]", "{", "}", "'", '"', "!!", "&a", "*a", "#", "\n", "  ", "\t", ".nan", "-1", "0",
             "1e999", "null", "true", "?", "|", ">", "%", "@", "\x00", "é", "extends: x.yaml\n"]


@st.composite
def mutated_profile(draw):
    name = draw(st.sampled_from(sorted(SHIPPED_TEXT)))
    text = SHIPPED_TEXT[name]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 20)))
        insert = draw(st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=6)))
        text = text[:i] + insert + text[j:]
    return name, text


@FUZZ
@given(mutated_profile())
def test_mutated_shipped_profiles_only_raise_cryoctl_error(workdir, case):
    name, text = case
    path = workdir / f"mut_{name.lstrip('_')}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(load_profile, path)


@FUZZ
@given(st.lists(st.one_of(
    st.text(max_size=20),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["dac.bits", "dac", "qubits.t1_us", "name", "x.y", "dac.bits.z",
                                                         "readout.shots", "pulse.sigma_ns", ".", ""]),
              st.one_of(st.text(max_size=10), st.integers().map(str), st.floats().map(str))),
), max_size=3))
def test_random_overrides_only_raise_cryoctl_error(overrides):
    check(load_profile, "cryo_cmos_6bit", overrides)
