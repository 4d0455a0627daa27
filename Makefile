# Two entry points (README): `make demo` and `make test`. Both create .venv and install on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,dynamics,dask,jax]"
	touch $(STAMP)

install: $(STAMP)

# The main job: the shipped default what-if study over the shipped profiles, then its report.
# Re-running resumes (finished points are skipped). Open out/report/report.html.
demo: $(STAMP)
	$(BIN)/cryoctl study run experiments/default_study.yaml --store out/default.sqlite
	$(BIN)/cryoctl report out/default.sqlite -o out/report

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do [ $$f = benchmarks/bench_seed_study.py ] || $(BIN)/python $$f || exit 1; done

# the whole seed study from a cold cache against its 30-minute target (15.9 min on an idle 2-core machine)
bench-seed: $(STAMP)
	$(BIN)/python benchmarks/bench_seed_study.py

clean:
	rm -rf $(VENV) out .pytest_cache
