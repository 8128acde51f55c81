# scte35lab: `make demo` and `make test` each set up what they need on a fresh machine.
PY      := .venv/bin/python
STAMP   := .venv/.installed
APT_PKGS := ffmpeg srt-tools nginx libnginx-mod-rtmp chromium
APT_BINS := ffmpeg ffprobe srt-live-transmit nginx chromium

.PHONY: setup system venv browser-deps demo test lint bench clean

setup: system venv

# Debian packages the real components need, installed only when a binary is missing.
system:
	@missing=""; for b in $(APT_BINS); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	if [ ! -e /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then missing="$$missing rtmp-module"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages (missing:$$missing)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(PY) -m scte35lab demo

# The real players (hls.js, dash.js) the browser tests serve to headless Chromium.
browser-deps: tests/browser/node_modules/.package-lock.json

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --silent

# pytest exits 5 when it collects no test; make treats any non-zero exit as failure.
test: setup browser-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check scte35lab tests bench

bench: setup
	$(PY) bench/codec.py
	$(PY) bench/probe.py
	$(PY) bench/store.py
	$(PY) bench/inject.py
	$(PY) bench/hls.py
	$(PY) bench/live.py
	$(PY) bench/transcode.py

clean:
	rm -rf .venv build *.egg-info .pytest_cache .ruff_cache .hypothesis test-artifacts
