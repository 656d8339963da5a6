# Two set-up commands: `make demo` and `make test`. Both create .venv if missing and
# install the pinned dependencies (pyproject.toml) before doing their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := runs/demo

.PHONY: demo test test-science venv clean bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/theorylab run vit-benign/phase --preset cpu --out $(DEMO)/vit-benign-phase
	$(BIN)/theorylab run vit-benign/dynamics --preset cpu --out $(DEMO)/vit-benign-dynamics
	$(BIN)/theorylab run mamba-icl/train --preset cpu --out $(DEMO)/mamba-icl-train
	$(BIN)/theorylab run mamba-icl/context-length --preset cpu --out $(DEMO)/mamba-icl-context-length
	@echo
	@echo "Reports:"
	@for d in $(DEMO)/*/; do echo "  $$d""report.html"; done

# The report test opens report.html in Debian's headless Chromium (CI runs as root). The test
# files are spread over one pytest-xdist worker per core (tests/conftest.py keeps each worker's
# XLA on one thread); a whole file stays on one worker, so its module fixtures run once.
# PYTEST_XDIST_AUTO_NUM_WORKERS=K sets another worker count.
test: $(STAMP)
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# Every cpu preset of every experiment (examples/ included), every claim asserted: run it
# before calling a paper done and after any change to the engine or a block (tens of minutes).
test-science: $(STAMP)
	$(BIN)/python -m pytest -q -m science

# Benchmarks against the paper-style PyTorch baselines and whole-process (cold/warm) runs (~25 min
# on 2 cores); rewrites only the generated block of BENCHMARKS.md. One at a time:
# `make bench ONLY=e2e-vit-phase` (names in benchmarks/run_all.py; the other rows are kept).
# The paper-preset run is separate: benchmarks/paper_phase.py.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.run_all $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) runs
