PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Corpora are read from ../shared/data when it is there (never copied in).
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export BRANDNER_DATA ?= $(SHARED_DATA)
endif

.PHONY: demo test install chromium java gnutime clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

# The main job on the default corpus: train on ecommerce (brands HP, products HC),
# score dev and test per type, tag a few titles, then count the brands of the test titles
# under their canonical names (examples/brand_aliases.txt) into demo/report.html.
demo: install
	$(BIN)/brandner train --corpus ecommerce --test --epochs 15 -o demo/ecommerce.pt
	$(BIN)/brandner evaluate -m demo/ecommerce.pt --corpus ecommerce --split test
	$(BIN)/brandner tag -m demo/ecommerce.pt "耐克男鞋运动鞋跑步鞋" "小米手机壳防摔硅胶套" "我买了特步鞋和李宁的卫衣"
	$(BIN)/brandner convert "$${BRANDNER_DATA:-$$HOME/.cache/brandner}/ecommerce/test.txt.bieos" demo/titles.jsonl
	$(BIN)/brandner tag -m demo/ecommerce.pt -i demo/titles.jsonl --canonical examples/brand_aliases.txt \
		-o demo/tagged.jsonl
	$(BIN)/brandner report demo/tagged.jsonl --type HP --top 10 --html demo/report.html

# The browser test drives Debian's Chromium (Playwright's own browser download needs a network
# this machine may not have).
chromium:
	@command -v chromium >/dev/null || $(SUDO) apt-get install -y -q chromium \
		|| ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

# Spark's tests need a Java runtime (17 or later): Debian's headless one where none is installed.
java:
	@command -v java >/dev/null || $(SUDO) apt-get install -y -q openjdk-17-jre-headless \
		|| ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q openjdk-17-jre-headless)

# benchmarks/report_memory.py (and its test) read a child's peak memory from GNU time (Debian's "time").
gnutime:
	@test -x /usr/bin/time || $(SUDO) apt-get install -y -q time \
		|| ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q time)

test: install chromium java gnutime
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo
