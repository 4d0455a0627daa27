"""On-disk gate-table cache: reuse, corrupt/truncated files rebuilt, concurrent builders."""

import multiprocessing as mp

import numpy as np

import cryoctl.gates.build as buildmod
from cryoctl.gates import load_or_build, load_table
from cryoctl.gates.cache import default_cache_dir
from cryoctl.profile import validate_profile


def _profile(bits=4, **dac):
    return validate_profile({"name": "t", "dac": {"bits": bits, **dac}, "qubits": {"count": 2}})


def _same(a, b):
    assert a.kind == b.kind and a.bits == b.bits and a.angle_per_code == b.angle_per_code
    for axis in a.ops:
        np.testing.assert_array_equal(a.ops[axis], b.ops[axis])
    np.testing.assert_array_equal(a.pi_codes, b.pi_codes)


def _count_builds(monkeypatch):
    calls = []
    real = buildmod.build_gate_table

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(buildmod, "build_gate_table", counting)
    return calls


def test_second_call_is_served_from_disk(tmp_path, monkeypatch):
    calls = _count_builds(monkeypatch)
    p = _profile()
    a = load_or_build(p, cache_dir=tmp_path)
    b = load_or_build(p, cache_dir=tmp_path)
    assert len(calls) == 1 and b.meta.get("from_cache")
    _same(a, b)
    # key: seed and profile content both matter
    load_or_build(p, seed=1, cache_dir=tmp_path)
    load_or_build(_profile(mismatch_seed=3, unit_mismatch_sigma=0.01), cache_dir=tmp_path)
    assert len(calls) == 3
    assert not list(tmp_path.glob("*.tmp"))


def test_default_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    load_or_build(_profile(3))
    assert len(list((tmp_path / "c").glob("gates-*.npz"))) == 1
    assert len(list((tmp_path / "c").glob("calibration-*.json"))) == 1


def test_corrupt_and_truncated_files_are_rebuilt(tmp_path, monkeypatch):
    p = _profile()
    good = load_or_build(p, cache_dir=tmp_path)
    (path,) = tmp_path.glob("gates-*.npz")
    blob = path.read_bytes()
    calls = _count_builds(monkeypatch)
    for bad in (b"garbage, not a zip", blob[: len(blob) // 2], b""):
        path.write_bytes(bad)
        t = load_or_build(p, cache_dir=tmp_path)
        _same(t, good)
        _same(load_table(path), good)  # the bad file was replaced by a good one
    assert len(calls) == 3


def _worker(cache_dir, bits, barrier, queue):
    barrier.wait()  # both processes miss the cache and build at the same moment
    t = load_or_build(_profile(bits), cache_dir=cache_dir)
    queue.put({k: v.copy() for k, v in t.ops.items()})


def test_concurrent_builders_share_one_valid_entry(tmp_path):
    ctx = mp.get_context("fork")
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
