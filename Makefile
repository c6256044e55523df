# The two commands: `make demo` and `make test`. Both bootstrap .venv on a fresh machine.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8866
SIZE ?= small
PACKET_YEAR ?= 2024-25

.PHONY: install demo demo-data test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo-data: install
	$(BIN)/plan-metrics demo-data --out data/demo --size $(SIZE)
	$(BIN)/plan-metrics validate --data data/demo

## install, generate the demo district, run every plan for every year, write the board packet,
## serve the dashboards
demo: demo-data
	$(BIN)/plan-metrics run --plan all --data data/demo --years all
	$(BIN)/plan-metrics packet --plan clayton --year $(PACKET_YEAR) --out reports/clayton
	$(BIN)/plan-metrics serve --port $(PORT)

## install, then the whole test suite
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: install
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf reports .pytest_cache
