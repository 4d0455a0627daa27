"""Seed-study chapters on synthetic store records: each verdict follows the data, and flips when it says so."""

import pytest

from cryoctl.report.seed import (
    compile_chapter, deadlock_chapter, elbow_chapter, has_seed_points, predicted_stall_bits, trainer_chapter,
)

SEEDS = [0, 1, 2, 3, 4]
JITTER = [0.01, -0.01, 0.005, -0.005, 0.0]  # per-seed spread of the synthetic accuracies
PAIRS = [("iris", "compact16"), ("digits", "deep48")]


def rec(kind, bits, seed, acc, *, dataset="iris", ansatz="compact16", provider="ideal", **extra):
    r = {"kind": kind, "bits": bits, "seed": seed, "profile": "cryo_cmos_6bit", "task.dataset": dataset,
         "task.ansatz": ansatz, "task.provider": provider, "result.accuracy": acc, "result.n_test": 45}
    for k, v in extra.items():
        r[k.replace("__", ".")] = v
    return r


def elbow_records(acc_of_bits, provider="ideal", seeds=SEEDS):
    out = []
    for ds, an in PAIRS:
        for b in range(2, 9):
            for s in seeds:
                out.append(rec("qnn_infer", b, s, acc_of_bits(b) + JITTER[s], dataset=ds, ansatz=an, provider=provider,
                               task__model="train-float", result__float_accuracy=0.9 + JITTER[s]))
    return out


def test_elbow_reproduced_and_flips():
    good = elbow_chapter(elbow_records(lambda b: 0.9 if b >= 4 else 0.4))
    (v,) = good["verdicts"]
    assert v["reproduced"] is True and v["where"] == "abstract quantizer"
    assert {c["elbow"] for c in good["curves"]} == {4} and all(c["elbow_resolved"] for c in good["curves"])
    assert "45 samples" in v["text"] and "5 seeds" in v["text"]
    # 6 bits loses 10 points on every pair: the loss is resolved -> not reproduced, and the reason says so
    lost = elbow_chapter(elbow_records(lambda b: 0.9 if b >= 7 else (0.8 if b >= 4 else 0.4)))
    (v,) = lost["verdicts"]
    assert v["reproduced"] is False and "at 6 bits" in v["text"] and "+10.0 pt" in v["text"]
    # no elbow at all (2 bits already keep the accuracy): outside 3-5 -> not reproduced
    flat = elbow_chapter(elbow_records(lambda b: 0.9))
    (v,) = flat["verdicts"]
    assert v["reproduced"] is False and "elbow" in v["text"] and "at 2 bits" in v["text"]
    # four seeds: no verdict
    few = elbow_chapter(elbow_records(lambda b: 0.9 if b >= 4 else 0.4, seeds=SEEDS[:4]))
    assert few["verdicts"][0]["reproduced"] is None
    # the hardware curve gets its own verdict
    both = elbow_chapter(elbow_records(lambda b: 0.9 if b >= 4 else 0.4)
                         + elbow_records(lambda b: 0.9 if b >= 8 else 0.5, provider="hardware"))
    verdicts = {v["where"]: v["reproduced"] for v in both["verdicts"]}
    assert verdicts == {"abstract quantizer": True, "cryo_cmos_6bit (emulated)": False}


def deadlock_records(moved):
    out = []
    for lr in (0.05, 0.001):
        for b in range(2, 15, 2):
            for s in SEEDS:
                out.append(rec("qnn_train", b, s, 0.5, task__trainer="round", task__optimizer="adam", task__lr=lr,
                               result__changed_frac=moved(lr, b)))
    return out


def test_deadlock_law_and_flip():
    assert predicted_stall_bits(0.05) == 6 and predicted_stall_bits(0.001) == 12
    law = deadlock_chapter(deadlock_records(lambda lr, b: 0.0 if b < predicted_stall_bits(lr) else 0.3))
    assert law["verdicts"][0]["reproduced"] is True
    assert {c["lr"]: c["measured_bits"] for c in law["checks"]} == {0.001: 12, 0.05: 6}
    assert "12 bits" in law["verdicts"][0]["text"]
    # codes move at 4 bits with lr 0.05 although lr < step/2 there: the law is broken -> not reproduced
    moved = deadlock_chapter(deadlock_records(lambda lr, b: 0.2 if (lr == 0.05 and b == 4) else
                                              (0.0 if b < predicted_stall_bits(lr) else 0.3)))
    assert moved["verdicts"][0]["reproduced"] is False and "4 bits" in moved["verdicts"][0]["text"]
    # stalled even at 14 bits with lr 0.05 (predicted 6): not reproduced either
    stuck = deadlock_chapter(deadlock_records(lambda lr, b: 0.0 if lr == 0.05 else (0.0 if b < 12 else 0.3)))
    assert stuck["verdicts"][0]["reproduced"] is False and "largest swept" in stuck["verdicts"][0]["text"]


def test_hardware_deadlock_counts_the_drive_dac_grid():
    """On emulated hardware the law is checked on the RX/RY drive codes; the RZ phase words that keep moving
    (their own 16-bit grid) are reported beside it, not counted against the law."""
    recs = [{**r, "result.changed_frac_rxy": r["result.changed_frac"], "result.changed_frac_rz": 0.4,
             "result.changed_frac": (r["result.changed_frac"] + 0.4) / 2}
            for r in deadlock_records(lambda lr, b: 0.0 if b < predicted_stall_bits(lr) else 0.3)]
    hw = [{**r, "task.provider": "hardware"} for r in recs]
    # a code-space trainer's point (total meter only) does not switch the hardware map back to the total
    hw.append(rec("qnn_train", 4, 0, 0.8, provider="hardware", task__trainer="latent", task__optimizer="adam",
                  task__lr=0.05, result__changed_frac=0.3))
    ch = deadlock_chapter(recs + hw)
    v = {d["where"]: d for d in ch["verdicts"]}
    assert v["abstract quantizer"]["reproduced"] is False  # there RZ is on the b-bit grid: codes moved below b*
    assert v["cryo_cmos_6bit (emulated)"]["reproduced"] is True
    assert v["cryo_cmos_6bit (emulated)"]["grid"] == "changed_frac_rxy"
    assert "phase words" in v["cryo_cmos_6bit (emulated)"]["text"] and "40.0 % at 2 bits" in v["cryo_cmos_6bit (emulated)"]["text"]
    # without the per-grid meter (points of an older version) the total is used, as on the abstract quantizer
    old = deadlock_chapter([{k: x for k, x in r.items() if not k.startswith("result.changed_frac_")} for r in hw[:-1]])
    assert old["verdicts"][0]["reproduced"] is False and "grid" not in old["verdicts"][0] or \
        old["verdicts"][0]["grid"] == "changed_frac"


def trainer_records(acc, provider="ideal", top=16, float_acc=0.9, bits=(2, 4, 6, 8, 10)):
    """acc(pair, bits, trainer) -> accuracy; float at ``top`` bits is the reference."""
    out = []
    for ds, an in PAIRS:
        for s in SEEDS:
            out.append(rec("qnn_train", top, s, float_acc + JITTER[s], dataset=ds, ansatz=an, task__trainer="float",
                           task__lr=0.05, task__optimizer="adam", result__changed_frac=1.0, provider=provider))
            for b in bits:
                for t in ("round", "stochastic", "latent"):
                    a = acc((ds, an), b, t)
                    if a is None:
                        continue
                    out.append(rec("qnn_train", b, s, a + JITTER[s], dataset=ds, ansatz=an, task__trainer=t,
                                   task__lr=0.05, task__optimizer="adam", task__temperature=1.0,
                                   result__changed_frac=0.3, provider=provider))
    return out


def test_stochastic_verdict_and_moonshot_flip():
    good = trainer_chapter(trainer_records(lambda p, b, t: 0.5 if t == "round" else 0.9))
    assert good["verdicts"][0]["reproduced"] is True
    assert good["reference"]["abstract quantizer"]["iris/compact16"]["bits"] == 16
    assert good["moonshots"][0]["met"] is True
    # 4-bit stochastic training loses 20 points on digits/deep48 -> not reproduced, the pair and bits named
    bad = trainer_chapter(trainer_records(
        lambda p, b, t: 0.5 if t == "round" else (0.7 if (p[0] == "digits" and b == 4 and t == "stochastic") else 0.9)))
    assert bad["verdicts"][0]["reproduced"] is False
    assert "at 4 bits on digits/deep48" in bad["verdicts"][0]["text"] and "20.0 pt" in bad["verdicts"][0]["text"]
    # ... but the latent trainer still matches there: the moonshot takes the best trainer per pair
    assert bad["moonshots"][0]["met"] is True
    assert {r["pair"]: r["trainer"] for r in bad["moonshots"][0]["pairs"]}["digits/deep48"] == "latent"
    # every trainer loses 8 points at 4 bits on digits/deep48: moonshot not met, worst pair reported
    miss = trainer_chapter(trainer_records(lambda p, b, t: 0.82 if (p[0] == "digits" and b == 4) else 0.9))
    assert miss["moonshots"][0]["met"] is False
    assert miss["moonshots"][0]["worst"]["pair"] == "digits/deep48"
    assert miss["moonshots"][0]["worst"]["gap_pts"] == pytest.approx(8.0)
    assert "worst pair digits/deep48" in miss["moonshots"][0]["text"]
    # why: the 8-pt miss is resolved (jitter is +-1 pt); with elbow points, the rounding loss it recovers from
    why = trainer_chapter(trainer_records(lambda p, b, t: 0.82 if (p[0] == "digits" and b == 4) else 0.9)
                          + elbow_records(lambda b: 0.9 if b >= 5 else 0.6))["moonshots"][0]["why"]
    assert "1 of 2 pairs miss" in why and "resolved on 1" in why and "digits/deep48 [+" in why
    # post-training quantization is a candidate: here (60 % at 4 bits) it loses to the trainers
    assert "digits/deep48 latent +8.0" in why or "worst digits/deep48 +8.0" in why
    ptq = trainer_chapter(trainer_records(lambda p, b, t: 0.82 if (p[0] == "digits" and b == 4) else 0.9)
                          + elbow_records(lambda b: 0.895))["moonshots"][0]
    assert ptq["met"] is True and {r["pair"]: r["trainer"] for r in ptq["pairs"]}["digits/deep48"] == \
        "float, then rounded (PTQ)"
    assert "Closest single trainer on every pair: latent (worst digits/deep48 +8.0 pt" in why
    # a 1.5-pt miss inside the seeds' spread (+-15 pt on the quantized trainers, paired to float) is not resolved
    spread = trainer_chapter([{**r, "result.accuracy": r["result.accuracy"] + (0.15 if r["seed"] % 2 else -0.15)}
                              if r["task.trainer"] != "float" else r for r in trainer_records(lambda p, b, t: 0.885 if (p[0] == "digits" and b == 4) else 0.9)])
    m = spread["moonshots"][0]
    assert m["met"] is False and "none resolved" in m["why"]
    assert trainer_chapter(trainer_records(lambda p, b, t: 0.9))["moonshots"][0]["why"] == ""
    # a gap of exactly the margin is within it (0.9 - 0.89 is 1 ulp above 0.01 in floating point)
    edge = trainer_chapter(trainer_records(lambda p, b, t: 0.89 if (p[0] == "digits" and b == 4 and t != "float")
                                           else 0.9))["moonshots"][0]
    assert edge["worst"]["gap_pts"] == 1.0 and edge["met"] is True
    # an epoch-matched check (latent at 30 epochs beside the 10-epoch runs) is its own cell, not merged
    base = trainer_records(lambda p, b, t: 0.82 if (p[0] == "digits" and b == 4) else 0.9)
    longer = [{**r, "task.epochs": 30, "result.accuracy": r["result.accuracy"] + 0.075} for r in base
              if r["task.trainer"] == "latent" and r["bits"] == 4 and r["task.dataset"] == "digits"]
    ch = trainer_chapter([{**r, "task.epochs": 10} for r in base] + longer)
    cell = {(r["pair"], r["trainer"]): r for r in ch["rows"] if r["bits"] == 4}
    assert cell[("digits/deep48", "latent")]["gap_pts"] == pytest.approx(8.0)
    assert cell[("digits/deep48", "latent (30 ep)")]["gap_pts"] == pytest.approx(0.5)
    assert ch["moonshots"][0]["met"] is True
    half = [{**r, "result.accuracy": r["result.accuracy"] - 0.04} for r in longer]  # 4.5 pt: still missed
    m = trainer_chapter([{**r, "task.epochs": 10} for r in base] + half)["moonshots"][0]
    assert m["met"] is False and "Trained longer on the missed pairs: digits/deep48 latent (30 ep) +4.5 pt" in m["why"]
    # a trainer started from the float model (init: float, epochs 0) is its own cell and may win the pair
    warm = [{**r, "task.init": "float", "task.epochs": 0, "result.accuracy": r["result.accuracy"] + 0.075}
            for r in base if r["task.trainer"] == "latent" and r["bits"] == 4]
    ch = trainer_chapter([{**r, "task.epochs": 10} for r in base] + warm)
    cell = {(r["pair"], r["trainer"]): r for r in ch["rows"] if r["bits"] == 4}
    assert cell[("digits/deep48", "latent")]["gap_pts"] == pytest.approx(8.0)
    assert cell[("digits/deep48", "latent from float")]["gap_pts"] == pytest.approx(0.5)
    assert ch["moonshots"][0]["met"] is True
    assert {r["pair"]: r["trainer"] for r in ch["moonshots"][0]["pairs"]}["digits/deep48"] == "latent from float"
    # no loss resolved, but seeds spread by +-15 points: the data cannot exclude a loss -> undecided, not reproduced
    wide = trainer_chapter([{**r, "result.accuracy": r["result.accuracy"] + (0.15 if r["seed"] % 2 else -0.15)}
                            if r["task.trainer"] == "stochastic" else r
                            for r in trainer_records(lambda p, b, t: 0.9)])
    assert wide["verdicts"][0]["reproduced"] is None and "too wide" in wide["verdicts"][0]["text"]


def test_hardware_gets_its_own_reference_verdicts_and_moonshot():
    """Emulated-hardware training is judged against float on the SAME hardware (at its top bits); the moonshot
    rows there also carry the gap to float on exact gates; the abstract chapter is unchanged by them."""
    abstract = trainer_records(lambda p, b, t: 0.5 if t == "round" else 0.9)
    # hardware: float reaches 0.8 at 12 bits (noise); latent 0.795 at 4 bits, stochastic 0.7
    hw = trainer_records(lambda p, b, t: {"round": 0.5, "stochastic": 0.7, "latent": 0.795}[t], provider="hardware",
                         top=12, float_acc=0.8, bits=(4,))
    ch = trainer_chapter(abstract + hw)
    assert [v["where"] for v in ch["verdicts"]] == ["abstract quantizer", "cryo_cmos_6bit (emulated)"]
    assert ch["verdicts"][0]["reproduced"] is True and ch["verdicts"][1]["reproduced"] is False
    assert ch["verdicts"][1]["text"].startswith("cryo_cmos_6bit (emulated): not reproduced")
    assert ch["reference"]["cryo_cmos_6bit (emulated)"]["iris/compact16"]["bits"] == 12
    m_abs, m_hw = ch["moonshots"]
    assert m_abs == trainer_chapter(abstract)["moonshots"][0]
    assert m_hw["met"] is True and {r["trainer"] for r in m_hw["pairs"]} == {"latent"}
    assert all(r["gap_pts"] == pytest.approx(0.5) and r["gap_abstract_pts"] == pytest.approx(10.5) for r in m_hw["pairs"])
    assert "float on the same emulated hardware at 12 bits" in m_hw["text"] and "exact gates" in m_hw["text"]
    # the deadlock map is per where as well
    dl = deadlock_chapter(deadlock_records(lambda lr, b: 0.0 if b < predicted_stall_bits(lr) else 0.3)
                          + [{**r, "task.provider": "hardware"} for r in deadlock_records(lambda lr, b: 0.3)])
    assert [(v["where"], v["reproduced"]) for v in dl["verdicts"]] == [("abstract quantizer", True),
                                                                       ("cryo_cmos_6bit (emulated)", False)]


def test_compile_panel():
    recs = []
    for s in SEEDS:
        for mode, acc, ns, inf in (("native", 0.8, 120.0, 3e-3), ("zxzxz", 0.88, 240.0, 1e-4)):
            recs.append(rec("qnn_infer", 4, s, acc + JITTER[s], provider="hardware", task__model="train-float",
                            result__float_accuracy=0.9, result__compile=mode, result__drive_ns=ns,
                            result__rotation_infidelity=inf, **({"task__compile": mode} if mode != "native" else {})))
    cp = compile_chapter(recs)
    zx = [r for r in cp["rows"] if r["compile"] == "zxzxz"][0]
    assert zx["zxzxz_minus_native_pts"] == pytest.approx(8.0) and zx["diff_lo"] > 0
    assert zx["drive_ns"] == 2 * [r for r in cp["rows"] if r["compile"] == "native"][0]["drive_ns"]
    assert "better than native on 1" in cp["text"]
    assert has_seed_points(recs + elbow_records(lambda b: 0.9)) and not has_seed_points(recs[:2])
    # the default study's kind of store (2 seeds per setting) gets no seed-study chapters
    assert not has_seed_points(elbow_records(lambda b: 0.9, seeds=[0, 1]))
