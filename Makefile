# Quick start: `make demo` trains on the built-in demo corpus, `make test` runs the tests.
# Both set up what they need: the Debian packages (when run as root), .venv from requirements.txt, and
# .venv-separate from requirements-separate.txt (separation without TensorFlow, which the tests use too).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SEPARATE_VENV := .venv-separate
DEBIAN_PACKAGES := ffmpeg fluidsynth timgm6mb-soundfont chromium chromium-driver
DEMO_ARGS ?=
PYTEST_ARGS ?=    # e.g. make test PYTEST_ARGS="--shuffle 7": the tests in a shuffled order
TEST_WORKERS ?= 2 # pytest-xdist workers (make test TEST_WORKERS=0: one process)

.PHONY: setup system-packages demo test bench corpus clean

setup: system-packages $(VENV)/.installed $(SEPARATE_VENV)/.installed

# Installs the Debian packages when a tool is missing and we are root; otherwise says what is missing.
system-packages:
	@missing=""; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v fluidsynth >/dev/null || missing="$$missing fluidsynth"; \
	ls /usr/share/sounds/sf2/*.sf2 >/dev/null 2>&1 || missing="$$missing timgm6mb-soundfont"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	  else \
	    echo "missing:$$missing -- run 'sudo make setup' or 'sudo apt-get install $(DEBIAN_PACKAGES)'"; exit 1; \
	  fi; \
	fi

# One pip command for all requirements, so that numpy stays in TensorFlow's range.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(SEPARATE_VENV)/.installed: requirements-separate.txt
	test -x $(SEPARATE_VENV)/bin/python || $(PYTHON) -m venv $(SEPARATE_VENV)
	$(SEPARATE_VENV)/bin/python -m pip install -q --upgrade pip
	$(SEPARATE_VENV)/bin/python -m pip install -q -r requirements-separate.txt
	touch $@

corpus: setup
	$(PY) -m Input.demo.corpus --out data/demo

demo: setup
	$(PY) Training.py with cfg.semi_sup cfg.demo $(DEMO_ARGS)

test: setup corpus
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

clean:
	rm -rf runs .pytest_cache
