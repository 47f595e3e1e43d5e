# The two commands of the README's quick start: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test setup lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/openastro demo --headless --hours 10 --seed 1

test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-indi.sh
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check control_center plugins simulator site_node models tests benchmarks

clean:
	rm -rf $(VENV) openastro.db .pytest_cache
