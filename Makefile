# The two commands of the README's quick start: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
SUM    := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUN    := $(VENV)/.installed-run-$(SUM)
DEV    := $(VENV)/.installed-dev-$(SUM)

.PHONY: demo test setup lint clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# What the demo needs: the runtime dependencies (no torch: inference is onnxruntime).
$(RUN): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	@rm -f $(VENV)/.installed-run-* && touch $@

# What the tests need: test tools, and the training extra (torch CPU) to check the
# exported models against PyTorch.
$(DEV): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev,train]'
	@rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-run-* && touch $@ $(RUN)

setup: $(DEV)

demo: $(RUN)
	$(VENV)/bin/openastro demo --headless --hours 10 --seed 1

test: $(DEV)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-indi.sh
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(DEV)
	$(VENV)/bin/ruff check control_center plugins simulator site_node models tests benchmarks protos

clean:
	rm -rf $(VENV) openastro.db .pytest_cache
