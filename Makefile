# The two commands of the README:
#   make demo   set up .venv and scan the bundled vulnerable example project
#   make test   set up everything the tests need and run the whole suite
PYTHON ?= python3
VENV   ?= .venv

.PHONY: demo test setup system-deps lint clean

setup:
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/bootstrap.sh

demo: setup
	VENV=$(VENV) scripts/demo.sh

system-deps:
	scripts/system-deps.sh

MULTITOOL := .pipeline-guard-cache/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool

test: setup system-deps
	SARIF_MULTITOOL=$(abspath $(MULTITOOL)) $(VENV)/bin/python -m pytest -n auto --dist loadgroup

lint: setup
	$(VENV)/bin/ruff check pipeline_guard scanners tests benchmarks
	$(VENV)/bin/ruff format --check pipeline_guard scanners tests benchmarks
	$(VENV)/bin/mypy --strict pipeline_guard
	$(VENV)/bin/mypy --strict scanners/*.py

clean:
	rm -rf $(VENV) reports .pipeline-guard-cache
