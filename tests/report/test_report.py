"""Reports: Pareto front, curves, the HTML/CSV/JSON report, rendering in a real headless browser."""

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from cryoctl.cli import main
from cryoctl.errors import CryoctlError
from cryoctl.report import FIGURES, build_report, compare_profiles, curves, pareto_front
from cryoctl.study import TaskParams, load_study_spec, register_task, run_study


def _brute_pareto(cost, quality):
    n = len(cost)
    out = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if cost[j] <= cost[i] and quality[j] >= quality[i] and (cost[j] < cost[i] or quality[j] > quality[i]):
                out[i] = False
    return out


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(1, 40))
        # coarse values force ties in cost and in quality
        cost = rng.integers(0, 8, n).astype(float)
        quality = rng.integers(0, 8, n).astype(float)
        np.testing.assert_array_equal(pareto_front(cost, quality), _brute_pareto(cost, quality))
    assert pareto_front([], []).shape == (0,)
    # a textbook case: (1, .5) (2, .9) (3, .8) (4, .95) -> the 3rd is dominated by the 2nd
    np.testing.assert_array_equal(pareto_front([1, 2, 3, 4], [0.5, 0.9, 0.8, 0.95]), [True, True, False, True])


def test_curves_average_over_seeds():
    recs = [{"bits": b, "overrides": "{}", "profile": "p", "y": b + s} for b in (2, 3) for s in (0.0, 1.0, 2.0)]
    (key, c), = curves(recs, "y").items()
    assert key == ("p",)
    np.testing.assert_allclose(c["mean"], [3.0, 4.0])
    np.testing.assert_allclose(c["std"], np.std([0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(c["n"], [3, 3])


class _Acc(TaskParams):
    kind: str = "test.accuracy"
    dataset: str = "toy"
    ansatz: str = "compact16"
    elbow_bits: float = 4.0


def _toy_accuracy(profile, params, seed):
    """A closed-form elbow (logistic in bits) plus a seeded jitter: stands in for a QNN in report tests."""
    b = profile.dac.bits
    acc = 0.5 + 0.45 / (1.0 + np.exp(-2.0 * (b - params["elbow_bits"])))
    return {"accuracy": float(acc + 0.01 * np.random.default_rng(seed).standard_normal())}


register_task("test.accuracy", _toy_accuracy, _Acc)

SPEC = """
name: reportable
profiles: [ideal, cryo_cmos_6bit]
set: {qubits.count: 1}
grid: {dac.bits: "3..5"}
seeds: [0, 1]
tasks:
  - {kind: cost}
  - {kind: gates, n_noise_draws: 2}
  - {kind: test.accuracy, dataset: toy, ansatz: compact16}
  - {kind: test.accuracy, dataset: toy, ansatz: deep48, elbow_bits: 4.5}
  - {kind: debug.fail, bits: [5]}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    spec_path = tmp / "r.yaml"
    spec_path.write_text(SPEC)
    store = tmp / "r.sqlite"
    with pytest.MonkeyPatch.context() as mp:  # gate tables go to a private cache, not ~/.cache
        mp.setenv("CRYOCTL_CACHE", str(tmp / "cache"))
        run_study(load_study_spec(spec_path), store, workers=0, progress=False)
    summary = build_report(store, tmp / "out")
    return tmp, store, summary


def test_report_files_and_tables(report):
    tmp, store, summary = report
    out = tmp / "out"
    core = [f[0] for f in FIGURES if not f[3]]
    # the core figures are drawn; the optional CZ / RB panels are absent (the store has no such points)
    assert sorted(summary["plots"]) == sorted(core) and all(summary["plots"].values()), summary["plots"]
    assert summary["errors"] == 2 and summary["quality"] == "accuracy"
    html = (out / "report.html").read_text()
    for fid in core:
        assert re.search(rf'<img id="{fid}" alt="[^"]+" src="data:image/png;base64,', html)
        assert f'<div id="i{fid}" class="plotly-plot"' in html and f'id="howto-{fid[5:]}"' in html
        assert (out / f"{fid}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "fig-cz-vs-bits" not in html and "fig-rb-vs-bits" not in html
    # self-contained: no external URL anywhere outside the embedded plotly.js bundle (which is never fetched)
    from cryoctl.report.interactive import plotly_js

    page = html.replace(plotly_js(), "")
    assert html.count("* plotly.js v") == 1
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page) and "url(http" not in page
    with (out / "points.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    # 2 profiles x 3 bits: 6 cost + 12 gates + 24 accuracy + 4 debug.fail (done where bits != 5)
    assert len(rows) == 6 + 12 + 24 + 4 == summary["points"]
    acc = [r for r in rows if r["kind"] == "test.accuracy"]
    for r in acc:  # the CSV carries the very numbers the task computed
        b, s, elbow = int(r["bits"]), int(r["seed"]), 4.5 if r["task.ansatz"] == "deep48" else 4.0
        expect = 0.5 + 0.45 / (1 + np.exp(-2 * (b - elbow))) + 0.01 * np.random.default_rng(s).standard_normal()
        assert float(r["result.accuracy"]) == pytest.approx(expect, rel=1e-12)
    doc = json.loads((out / "report.json").read_text())
    assert len(doc["profiles"]) == 6 and len(doc["error_points"]) == 2
    # Pareto: 2 profiles x 3 bits x 2 models; ideal is a reference (on no front), the front is over the
    # cryo_cmos_6bit designs, non-dominated in wall-plug power (4 K dissipation x 1000 W/W)
    pts = doc["pareto"]
    assert len(pts) == 12
    assert all(q["reference"] == (q["profile"] == "ideal") for q in pts)
    des = [q for q in pts if not q["reference"]]
    p = np.array([q["power_per_qubit_w"] * 1000.0 for q in des])
    np.testing.assert_allclose([q["wall_plug_per_qubit_w"] for q in des], p, rtol=1e-12)
    a = np.array([q["quality"] for q in des])
    np.testing.assert_array_equal([q["pareto_power"] for q in des], _brute_pareto(p, a))
    assert not any(q["pareto_power"] or q["pareto_area"] for q in pts if q["reference"])
    # the profiles table joins cost_report of each resolved profile
    from cryoctl.cost import cost_report
    from cryoctl.profile import load_profile

    row = next(r for r in doc["profiles"] if r["profile"] == "cryo_cmos_6bit" and r["bits"] == 4)
    ref = cost_report(load_profile("cryo_cmos_6bit", {"qubits.count": 1, "dac.bits": 4}))
    assert row["power_per_qubit_w"] == ref["power_per_qubit_w"] and row["qubits_that_fit"] == ref["qubits_that_fit"]


def test_report_restricted_to_keys(report, tmp_path):
    _, store, _ = report
    from cryoctl.study import ResultStore

    with ResultStore(store, create=False) as st:
        cost_keys = {r["key"] for r in st.rows() if r["kind"] == "cost"}
    s = build_report(store, tmp_path / "only_cost", keys=cost_keys)
    assert s["points"] == len(cost_keys) == 6 and s["errors"] == 0
    assert s["plots"]["plot-cost-vs-bits"] and not s["plots"]["plot-gate-leakage-vs-bits"]


def test_report_says_no_data(tmp_path):
    spec_path = tmp_path / "c.yaml"
    spec_path.write_text("name: c\nprofiles: [cryo_cmos_4bit]\ngrid: {dac.bits: '2..4'}\ntasks: [{kind: cost}]\n")
    run_study(load_study_spec(spec_path), tmp_path / "c.sqlite", workers=0, progress=False)
    s = build_report(tmp_path / "c.sqlite", tmp_path / "out")
    assert s["plots"]["plot-cost-vs-bits"] and not s["plots"]["plot-accuracy-vs-bits"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="nodata-accuracy-vs-bits"' in html and "No data for qnn accuracy" in html
    assert 'id="nodata-gate-leakage-vs-bits"' in html and 'id="plot-cost-vs-bits"' in html
    with pytest.raises(CryoctlError, match="no such result store"):
        build_report(tmp_path / "none.sqlite", tmp_path / "o2")


def test_cli_report_and_compare(report, tmp_path, capsys):
    _, store, _ = report
    assert main(["report", str(store), "-o", str(tmp_path / "cli"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["html"].endswith("report.html") and all(out["plots"].values()) and len(out["plots"]) == 6
    assert main(["compare", "cryo_cmos_6bit", "rfsoc_14bit", "--set", "qubits.count=2", "--json"]) == 0
    cmp_ = json.loads(capsys.readouterr().out)["profiles"]
    assert [r["name"] for r in cmp_] == ["cryo_cmos_6bit", "rfsoc_14bit"]
    assert all(r["qubits"] == 2 for r in cmp_)
    from cryoctl.profile import load_profile

    assert cmp_ == json.loads(json.dumps(compare_profiles([load_profile(n, ["qubits.count=2"])
                                                            for n in ("cryo_cmos_6bit", "rfsoc_14bit")])))
    assert main(["compare", "cryo_cmos_6bit"]) == 0
    assert "qubits that fit" in capsys.readouterr().out


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.body = {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs[a.get("id")] = a
        elif tag == "body":
            self.body = a


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_report_renders_in_headless_chromium(report, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium binary found (apt-get install chromium); the browser rendering check needs one")
    out = report[0] / "out"
    url = (out / "report.html").resolve().as_uri()
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'udd'}"]
    dom = subprocess.run(base + ["--virtual-time-budget=20000", "--dump-dom", url], capture_output=True, text=True,
                         timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Imgs()
    parser.feed(dom.stdout)
    core = [f[0] for f in FIGURES if not f[3]]
    assert parser.body.get("data-rendered-images") == str(len(core))
    for fid in core:  # every plot decoded by the browser, with its real pixel size
        img = parser.imgs[fid]
        assert int(img["data-natural-width"]) > 300 and int(img["data-natural-height"]) > 200, (fid, img)

    shot = tmp_path / "shot.png"
    r = subprocess.run(base + [f"--screenshot={shot}", "--window-size=1400,4000", "--hide-scrollbars", url],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    import matplotlib.image

    px = matplotlib.image.imread(shot)[..., :3]
    assert px.shape[:2] == (4000, 1400)
    ink = np.any(px < 0.9, axis=-1)  # non-white pixels
    assert ink.mean() > 0.03  # text, tables and plots, not a blank page
    rows_with_ink = ink.any(axis=1)
    assert rows_with_ink[: 2000].mean() > 0.3  # content spread down the page (figures), not one line
    shutil.copy(shot, out / "screenshot.png")


def test_abstract_quantizer_accuracy_is_not_credited_to_a_profile():
    """provider=ideal points (the b-bit angle quantizer) are independent of the profile: they appear in
    the elbow plot but not in a profile's summary row or on its power/area Pareto plots."""
    from cryoctl.report.data import accuracy_records

    hw = {"result.accuracy": 0.6, "task.provider": "hardware"}
    ab = {"result.accuracy": 0.9, "task.provider": "ideal"}
    other = {"result.accuracy": 0.7}  # e.g. a task kind without providers
    assert accuracy_records([hw, ab, other]) == [hw, ab, other]
    assert accuracy_records([hw, ab, other], hardware_only=True) == [hw, other]


def _acc_rec(profile, provider, bits, seed, acc, float_acc=0.95):
    task = {"dataset": "iris", "ansatz": "compact16", "provider": provider, "epochs": 30}
    if provider == "hardware":
        task.update(engine="fast", n_noise_draws=4)
    return {"key": f"{profile}-{provider}-{bits}-{seed}", "kind": "qnn_infer", "profile": profile, "bits": bits,
            "seed": seed, "overrides": json.dumps({"dac.bits": bits}), "label_overrides": json.dumps({"dac.bits": bits}),
            "task": json.dumps(task, sort_keys=True), "label_task": "", "task.provider": provider, "task.dataset": "iris",
            "task.ansatz": "compact16", "result.accuracy": acc, "result.float_accuracy": float_acc + 0.01 * seed}


def test_accuracy_figure_labels_abstract_curve_once_and_float_line():
    from cryoctl.report.plots import accuracy_figure

    recs = []
    for prof, hw_off in (("cryo_cmos_6bit", 0.0), ("rfsoc_14bit", 0.05)):
        for b in (2, 3, 4):
            for s in (0, 1):
                recs.append(_acc_rec(prof, "hardware", b, s, 0.4 + 0.1 * b + hw_off))
                recs.append(_acc_rec(prof, "ideal", b, s, 0.5 + 0.1 * b + 0.02 * s))  # same for both profiles
    fig = accuracy_figure(recs)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "abstract b-bit quantizer" in labels and labels.count("abstract b-bit quantizer") == 1
    assert "cryo_cmos_6bit (emulated hardware)" in labels and "rfsoc_14bit (emulated hardware)" in labels
    assert not any("provider" in lab or "n_noise_draws" in lab or "engine" in lab for lab in labels), labels
    ax = fig.axes[0]
    assert ax.get_title() == "Iris, compact16: test accuracy vs DAC bits"
    assert ax.get_ylabel().startswith("Iris test accuracy (fraction")
    # the abstract curve: mean over seeds of 0.5 + 0.1 b + 0.02 s, drawn once (black)
    black = [c.lines[0] for c in ax.containers if c.get_label() == "abstract b-bit quantizer"]
    assert len(black) == 1 and black[0].get_color() == "black"
    np.testing.assert_allclose(black[0].get_ydata(), [0.71, 0.81, 0.91])
    # float reference: mean over the two seeds' trained models (0.95, 0.96)
    (fl,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("float model")]
    np.testing.assert_allclose(fl.get_ydata(), [0.955, 0.955])
    # abstract results that differ between profiles are not merged into one curve
    recs[1] = {**recs[1], "result.accuracy": 0.0}
    labels = [t.get_text() for t in accuracy_figure(recs).legends[0].get_texts()]
    assert sum(lab.startswith("abstract b-bit quantizer (") for lab in labels) == 2


def test_profile_styles_distinct_and_deterministic():
    from cryoctl.report.plots import profile_styles

    names = ["ideal", "cryo_cmos_6bit", "rfsoc_14bit", "awg_16bit_rt", "cryo_cmos_4bit", "x"]
    st = profile_styles(names)
    assert st == profile_styles(list(reversed(names)))
    assert len({s["marker"] for s in st.values()}) == len(names)
    assert len({str(s["linestyle"]) for s in st.values()}) == len(names)
    assert len({s["color"] for s in st.values()}) == len(names)


def test_cost_figure_units_and_floor_styles(report):
    from cryoctl.report.data import load_records
    from cryoctl.report.plots import cost_figure

    _, store, _ = report
    recs, _ = load_records(store)
    fig = cost_figure(recs)
    ax = fig.axes[0]
    assert "(mW)" in ax.get_ylabel() and "dynamic" in fig.axes[1].get_ylabel()
    floors = [ln for ln in ax.get_lines() if ln.get_label().startswith("thermal floor")]
    assert len(floors) == 2  # ideal (1 GS/s, 300 K) and cryo_cmos_6bit (2 GS/s, 4 K)
    assert len({str(ln.get_linestyle()) for ln in floors}) == 2  # each floor its own dash style
    # power drawn in mW: the cost_report number x 1e3
    c = next(r for r in recs if r["kind"] == "cost" and r["profile"] == "cryo_cmos_6bit" and r["bits"] == 4)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "cryo_cmos_6bit"]
    assert line.get_ydata()[list(line.get_xdata()).index(4)] == pytest.approx(c["power_per_qubit_w"] * 1e3)


def test_pareto_labels_only_front_and_do_not_overlap():
    from cryoctl.report.plots import pareto_figure

    # a tight cluster of front points (the "6b7b 8b" case) plus dominated points
    pts = []
    for i, (pw, q, front) in enumerate([(1.00e-3, 0.52, True), (1.01e-3, 0.57, True), (1.03e-3, 0.87, True),
                                        (1.06e-3, 0.91, True), (1.13e-3, 0.978, True), (1.26e-3, 0.978, False),
                                        (1.5e-3, 0.978, False), (0.2, 0.99, True), (0.4, 0.5, False)]):
        pts.append({"profile": "p" if i < 7 else "q", "bits": i + 2, "task": "{}", "label": "", "quality": q,
                    "power_per_qubit_w": pw, "area_per_qubit_mm2": 1.0, "pareto_power": front, "pareto_area": front})
    fig = pareto_figure(pts, "accuracy", "power")
    ax = fig.axes[0]
    anns = [t for t in ax.texts]
    assert sorted(a.get_text() for a in anns) == sorted(f"{p['profile']} {p['bits']}b" for p in pts if p["pareto_power"])
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(r) for a in anns]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (anns[i].get_text(), anns[j].get_text())


def test_pareto_design_labels_are_short(report):
    _, _, summary = report
    labels = {p["label"] for p in summary["pareto"]}
    assert labels == {f"{prof} · toy, {m}" for prof in ("ideal", "cryo_cmos_6bit")
                      for m in ("compact16, elbow_bits=4.0", "deep48, elbow_bits=4.5")}, labels
