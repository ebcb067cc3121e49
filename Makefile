PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Corpora are read from ../shared/data when it is there (never copied in).
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export BRANDNER_DATA ?= $(SHARED_DATA)
endif

.PHONY: demo test install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python -m brandner.demo

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo
