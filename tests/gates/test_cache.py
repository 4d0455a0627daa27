"""On-disk gate-table cache: keyed by what a table depends on, values checked, corrupt/non-finite files
rebuilt, concurrent builders, listing and pruning."""

import dataclasses
import multiprocessing as mp
import os
import time

import numpy as np
import pytest

import cryoctl.gates.build as buildmod
from cryoctl.errors import CryoctlError
from cryoctl.gates import CODE_VERSION, Calibration, GateTable, load_or_build, load_table, save_table, table_key
from cryoctl.gates.cache import cache_entries, default_cache_dir, prune_cache
from cryoctl.profile import load_profile, validate_profile


def _profile(bits=4, qubits=None, **sections):
    return validate_profile({"name": "t", "dac": {"bits": bits}, "qubits": {"count": 2, **(qubits or {})}, **sections})


def _same(a, b):
    assert a.kind == b.kind and a.bits == b.bits and a.profile_hash == b.profile_hash
    for axis in a.ops:
        np.testing.assert_array_equal(a.ops[axis], b.ops[axis])
    for name in ("pi_codes", "drag_beta", "angles"):
        np.testing.assert_array_equal(getattr(a.calibration, name), getattr(b.calibration, name))


def _fake_table(profile, engine="fast", seed=0, n_noise_draws=32, **kw):
    """A cheap table with the real one's layout: diagonal phases exp(i code k / 2^(N-1)) per level k."""
    b, d, nq = profile.dac.bits, profile.qubits.levels, profile.qubits.count
    codes = np.arange(-(2 ** (b - 1)), 2 ** (b - 1))
    phase = np.exp(1j * codes[:, None] * np.arange(d)[None, :] / 2 ** (b - 1) * (1 + seed))
    ops = np.zeros((nq, codes.size, d, d), complex)
    ops[..., np.arange(d), np.arange(d)] = phase[None]
    cal = Calibration.linear(nq, b, np.pi / 2 ** (b - 2), profile_hash=table_key(profile))
    return GateTable(profile_hash=table_key(profile), bits=b, levels=d, n_qubits=nq, phase_bits=profile.pulse.phase_bits,
                     kind="unitary", ops={"x": ops, "y": ops.copy()}, calibration=cal,
                     meta={"engine": engine, "seed": seed})


@pytest.fixture
def builds(monkeypatch):
    """Replace the physics by :func:`_fake_table`; the list counts the builds."""
    calls = []

    def fake(profile, *a, **k):
        calls.append(profile)
        return _fake_table(profile, *a, **k)

    monkeypatch.setattr(buildmod, "build_gate_table", fake)
    return calls


def test_table_key_covers_exactly_what_a_table_depends_on():
    base = _profile(6, qubits={"t1_us": 50.0, "t2_us": 40.0})
    k = table_key(base)
    same = [
        {"cost": {"temperature_k": 0.02, "fom_fj_per_step": 3.0}},
        {"readout": {"p01": 0.03, "shots": 100}},
        {"qubits": {"t1_us": 50.0, "t2_us": 40.0, "cz_error": 0.01}},
        {"qubits": {"t1_us": 50.0, "t2_us": 40.0, "per_qubit": [{"index": 1, "t1_us": 50.0}]}},  # = the default
    ]
    for extra in same:
        p = _profile(6, **{"qubits": {"t1_us": 50.0, "t2_us": 40.0}, **extra})
        assert table_key(p) == k, extra
    assert table_key(base.model_copy(update={"name": "other", "description": "x"})) == k
    changed = [
        _profile(7, qubits={"t1_us": 50.0, "t2_us": 40.0}),
        _profile(6, qubits={"t1_us": 60.0, "t2_us": 40.0}),
        _profile(6, qubits={"t1_us": 50.0, "t2_us": 40.0, "per_qubit": [{"index": 1, "t1_us": 30.0}]}),
        _profile(6, qubits={"t1_us": 50.0, "t2_us": 40.0, "count": 3}),
        _profile(6, qubits={"t1_us": 50.0, "t2_us": 40.0, "levels": 2}),
        _profile(6, qubits={"t1_us": 50.0, "t2_us": 40.0}, pulse={"duration_ns": 30.0}),
    ]
    keys = {table_key(p) for p in changed}
    assert len(keys) == len(changed) and k not in keys
    # shipped profiles: cost-only what-ifs share a table key but not a profile hash
    a = load_profile("cryo_cmos_6bit")
    b = load_profile("cryo_cmos_6bit", ["cost.temperature_k=0.1", "readout.p01=0.2", "qubits.cz_error=0.05"])
    assert table_key(a) == table_key(b) and len(table_key(a)) == 16


def test_cost_readout_cz_error_reuse_the_cached_table_bits_and_t1_do_not(tmp_path, builds):
    p = _profile(4, qubits={"t1_us": 50.0})
    first = load_or_build(p, cache_dir=tmp_path)
    assert len(builds) == 1 and not first.meta.get("from_cache")
    for over in (["cost.static_power_mw=2"], ["readout.p10=0.1", "readout.shots=10"], ["qubits.cz_error=0.02"]):
        from cryoctl.profile import apply_overrides

        q = validate_profile(apply_overrides(p.model_dump(mode="json"), over))
        t = load_or_build(q, cache_dir=tmp_path)
        assert t.meta.get("from_cache") and len(builds) == 1, over
        _same(t, first)
    load_or_build(_profile(5, qubits={"t1_us": 50.0}), cache_dir=tmp_path)
    assert len(builds) == 2
    load_or_build(_profile(4, qubits={"t1_us": 40.0}), cache_dir=tmp_path)
    assert len(builds) == 3
    assert len(list(tmp_path.glob("gates-*.npz"))) == 3 and not list(tmp_path.glob("*.tmp"))


def test_a_cache_file_holding_a_nan_is_rebuilt_and_replaced(tmp_path, builds):
    p = _profile()
    good = load_or_build(p, cache_dir=tmp_path)
    (path,) = tmp_path.glob("gates-*.npz")
    bad = good.ops["x"].copy()
    bad[1, 3, 0, 0] = np.nan
    save_table(dataclasses.replace(good, ops={"x": bad, "y": good.ops["y"]}), path)
    with pytest.raises(ValueError, match="non-finite"):
        load_table(path)
    t = load_or_build(p, cache_dir=tmp_path)
    assert len(builds) == 2 and not t.meta.get("from_cache")
    assert all(np.isfinite(v).all() for v in t.ops.values())
    again = load_table(path)  # the file was replaced by the finite rebuild
    assert all(np.isfinite(v).all() for v in again.ops.values())
    _same(again, good)
    # a non-finite measured angle or DRAG coefficient of the calibration is refused the same way
    angles = good.calibration.angles.copy()
    angles[0, 1, 5] = np.nan
    beta = good.calibration.drag_beta.copy()
    beta[1, 0] = np.inf
    for cal in (good.calibration.with_angles(angles), dataclasses.replace(good.calibration, drag_beta=beta)):
        save_table(dataclasses.replace(good, calibration=cal), path)
        with pytest.raises(ValueError, match="calibration .* non-finite"):
            load_table(path)
        load_or_build(p, cache_dir=tmp_path)
        _same(load_table(path), good)
    assert len(builds) == 4


def test_shape_mismatch_and_foreign_table_are_rebuilt(tmp_path, builds):
    p = _profile()
    good = load_or_build(p, cache_dir=tmp_path)
    (path,) = tmp_path.glob("gates-*.npz")
    arrays = good.to_npz_arrays()
    arrays["ops_x"] = arrays["ops_x"][:, :-1]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="shape"):
        load_table(path)
    load_or_build(p, cache_dir=tmp_path)
    save_table(dataclasses.replace(good, profile_hash="0" * 16), path)  # made for another profile
    t = load_or_build(p, cache_dir=tmp_path)
    assert len(builds) == 3 and t.profile_hash == table_key(p)
    assert load_table(path).profile_hash == table_key(p)


def test_a_non_finite_build_is_an_error_and_not_cached(tmp_path, monkeypatch):
    def nan_build(profile, *a, **k):
        t = _fake_table(profile)
        t.ops["y"][0, 0, 0, 0] = np.nan
        return t

    monkeypatch.setattr(buildmod, "build_gate_table", nan_build)
    with pytest.raises(ValueError, match="non-finite"):
        load_or_build(_profile(), cache_dir=tmp_path)
    assert not list(tmp_path.glob("gates-*"))


def test_corrupt_and_truncated_files_are_rebuilt(tmp_path, builds):
    p = _profile()
    good = load_or_build(p, cache_dir=tmp_path)
    (path,) = tmp_path.glob("gates-*.npz")
    blob = path.read_bytes()
    for bad in (b"garbage, not a zip", blob[: len(blob) // 2], b""):
        path.write_bytes(bad)
        _same(load_or_build(p, cache_dir=tmp_path), good)
        _same(load_table(path), good)  # the bad file was replaced by a good one
    assert len(builds) == 4


def test_default_dir_from_environment(tmp_path, monkeypatch, builds):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    load_or_build(_profile(3))
    (f,) = (tmp_path / "c").glob("gates-*.npz")
    assert f.name.startswith(f"gates-{table_key(_profile(3))}-fast-") and f.name.endswith(f"-{CODE_VERSION}.npz")


def _worker(cache_dir, bits, barrier, queue):
    barrier.wait()  # all processes miss the cache and build at the same moment
    t = load_or_build(_profile(bits), cache_dir=cache_dir)
    queue.put({k: v.copy() for k, v in t.ops.items()})


def test_concurrent_builders_share_one_valid_entry(tmp_path, builds):
    ctx = mp.get_context("fork")  # the children inherit the patched builder
    barrier, queue = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), 5, barrier, queue)) for _ in range(3)]
    for pr in procs:
        pr.start()
    results = [queue.get(timeout=120) for _ in procs]
    for pr in procs:
        pr.join(timeout=120)
        assert pr.exitcode == 0
    for r in results[1:]:
        for axis in r:
            np.testing.assert_array_equal(r[axis], results[0][axis])
    files = list(tmp_path.glob("gates-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    t = load_table(files[0])
    for axis in t.ops:
        np.testing.assert_array_equal(t.ops[axis], results[0][axis])


def test_real_table_round_trips_through_the_cache(tmp_path, monkeypatch):
    calls = []
    real = buildmod.build_gate_table
    monkeypatch.setattr(buildmod, "build_gate_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    p = _profile(3)
    a = load_or_build(p, cache_dir=tmp_path)
    b = load_or_build(p.model_copy(update={"name": "renamed"}), cache_dir=tmp_path)
    assert len(calls) == 1 and b.meta.get("from_cache") and not a.meta.get("from_cache")
    _same(a, b)
    assert b.profile_hash == table_key(p)
    assert len(list(tmp_path.glob("calibration-*.json"))) == 1


def test_cache_entries_and_prune(tmp_path, builds):
    load_or_build(_profile(3), cache_dir=tmp_path)
    load_or_build(_profile(4), cache_dir=tmp_path)
    old = tmp_path / f"gates-{'a' * 16}-fast-s0-n32-g0.npz"
    old.write_bytes(b"x" * 10)
    cal = tmp_path / f"calibration-{'b' * 16}-qutip-{CODE_VERSION}.json"
    cal.write_text("{}")
    tmp = tmp_path / f".gates-{'c' * 16}-fast-s0-n32-{CODE_VERSION}.npz.abc123.tmp"
    tmp.write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("not ours")
    hour_ago = time.time() - 3600
    os.utime(tmp, (hour_ago, hour_ago))
    ten_days = time.time() - 10 * 86400
    os.utime(cal, (ten_days, ten_days))

    entries = {e.path.name: e for e in cache_entries(tmp_path)}
    assert len(entries) == 5 and "notes.txt" not in entries
    assert entries[old.name].kind == "table" and entries[old.name].stale and entries[old.name].code_version == "g0"
    assert entries[cal.name].kind == "calibration" and entries[cal.name].engine == "qutip"
    assert not entries[cal.name].stale and entries[cal.name].age_days() == pytest.approx(10, abs=0.01)
    assert entries[tmp.name].kind == "temp" and entries[tmp.name].stale
    assert entries[old.name].size_bytes == 10

    dry = prune_cache(tmp_path, dry_run=True)
    assert {e.path.name for e in dry} == {old.name, tmp.name} and old.exists() and tmp.exists()
    assert {e.path.name for e in prune_cache(tmp_path)} == {old.name, tmp.name}
    assert not old.exists() and not tmp.exists() and cal.exists()
    assert [e.path.name for e in prune_cache(tmp_path, older_than_days=5)] == [cal.name]
    assert len(list(tmp_path.glob("gates-*.npz"))) == 2
    assert len(prune_cache(tmp_path, everything=True)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(CryoctlError, match="--older-than"):
        prune_cache(tmp_path, older_than_days=-1)


def test_a_fresh_temp_file_is_kept_by_prune(tmp_path):
    tmp = tmp_path / f".gates-{'c' * 16}-fast-s0-n32-{CODE_VERSION}.npz.x.tmp"
    tmp.write_bytes(b"being written")
    assert prune_cache(tmp_path) == [] and tmp.exists()
    assert cache_entries(tmp_path / "missing") == []


def test_a_calibration_file_holding_a_nan_is_recomputed(tmp_path):
    import json

    from cryoctl.gates import calibrate

    p = _profile(3)
    first = calibrate(p, cache_dir=tmp_path)
    (path,) = tmp_path.glob("calibration-*.json")
    assert path.name == f"calibration-{table_key(p)}-fast-{CODE_VERSION}.json"
    assert calibrate(p.model_copy(update={"name": "x"}), cache_dir=tmp_path).from_cache
    doc = json.loads(path.read_text())
    doc["pi_angle"][1][0] = float("nan")
    path.write_text(json.dumps(doc))
    again = calibrate(p, cache_dir=tmp_path)
    assert not again.from_cache and np.isfinite(again.pi_angle).all()
    np.testing.assert_array_equal(again.pi_angle, first.pi_angle)
    assert np.isfinite(json.loads(path.read_text())["pi_angle"]).all()  # replaced
