"""Untrusted YAML is bounded: oversized documents and alias bombs are refused before any work grows with
them, and every message stays one readable line."""

import subprocess
import sys
from pathlib import Path

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile import load_profile
from cryoctl.profile import yamlio
from cryoctl.profile.yamlio import MAX_YAML_BYTES, load_yaml

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
)  # 10^9 leaves in nine lines


def test_alias_bomb_is_refused_after_composing_before_constructing(monkeypatch):
    constructed = []
    monkeypatch.setattr(yamlio._Loader, "construct_document", lambda self, node: constructed.append(node))
    with pytest.raises(CryoctlError) as exc:
        load_yaml(BOMB, "bomb.yaml")
    assert "alias" in str(exc.value) and exc.value.field == "bomb.yaml" and not constructed


def test_moderate_aliases_still_load():
    doc = load_yaml("base: &b {bits: 6, full_scale_v: 0.2}\ndac: *b\nother: *b\n")
    assert doc["dac"] == doc["other"] == {"bits": 6, "full_scale_v": 0.2}


def test_expansion_count_is_exact_at_the_limit(monkeypatch):
    monkeypatch.setattr(yamlio, "MAX_YAML_NODES", 1000)
    # a sequence of n scalars is n + 1 nodes; n + 1 = MAX is accepted, one more node is refused
    assert len(load_yaml("[" + ",".join(["1"] * 999) + "]")) == 999
    with pytest.raises(CryoctlError):
        load_yaml("[" + ",".join(["1"] * 1000) + "]")
    # shared children count once per reference: 3 aliases of a 400-node list are 1201 + 1 nodes
    with pytest.raises(CryoctlError):
        load_yaml("a: &a [" + ",".join(["1"] * 399) + "]\nb: [*a, *a]\n")


def test_oversized_document_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(yamlio._Loader, "__init__", lambda *a, **k: pytest.fail("parser started"))
    text = "x: 1\n" * (MAX_YAML_BYTES // 5 + 1)
    with pytest.raises(CryoctlError) as exc:
        load_yaml(text, "big.yaml")
    assert "MiB" in str(exc.value) and "limit" in str(exc.value)


def test_profile_file_with_a_bomb_names_the_file(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(BOMB)
    with pytest.raises(CryoctlError) as exc:
        load_profile(p)
    assert str(p) in str(exc.value)


def test_messages_are_cut_to_a_readable_length():
    e = CryoctlError("x" * 100_000, field="dac.bits")
    assert len(str(e)) < CryoctlError.MAX_CHARS + 40 and "more characters" in str(e)


def test_cli_prints_one_short_line_for_a_bomb(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(BOMB)
    cli = Path(sys.executable).with_name("cryoctl")
    r = subprocess.run([str(cli), "profile", "validate", str(p)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    out = (r.stdout + r.stderr).strip()
    assert "Traceback" not in out and "alias" in out and len(out) < 1000
