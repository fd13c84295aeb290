# Two commands on a fresh machine:  `make run` (install and start the app)  ·  `make test` (install and run the tests)
# GPU=1 installs onnxruntime-gpu (NVIDIA) in place of onnxruntime; it is the default when `nvidia-smi` answers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
GPU ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1 || echo 0)
# torch only exports models (the app runs them with ONNX Runtime), so on Linux its CPU build does, and
# PyPI's default CUDA build (several GB of NVIDIA libraries) is not pulled; TORCH_INDEX= turns this off
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),--extra-index-url https://download.pytorch.org/whl/cpu)
# onnxruntime and onnxruntime-gpu install the same `onnxruntime` module: exactly one of them may be installed
ORT := $(if $(filter 1,$(GPU)),onnxruntime-gpu,onnxruntime)

.PHONY: run test lint constraints requirements clean onnxruntime

run: $(VENV)/.app-installed onnxruntime
	$(BIN)/python app.py

test: $(VENV)/.dev-installed onnxruntime
	$(BIN)/ruff check photogen tests bench app.py
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check photogen tests bench app.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned first: 2.13.0 is the CPU build this project is tested with, and installing it
# first keeps later requirements (ranges that admit it) from pulling a multi-GB CUDA build. Alone
# (--no-deps): only torch comes from its index; its dependencies come with the next step, pinned.
$(VENV)/.torch-installed: $(BIN)/python
	$(BIN)/pip install --quiet --no-deps $(TORCH_INDEX) -c constraints.txt torch==2.13.0
	touch $@

$(VENV)/.app-installed: $(VENV)/.torch-installed pyproject.toml
	$(BIN)/pip install --quiet -c constraints.txt -e '.[export]'
	# only open_clip's CLIP tokenizer vocabulary is used (for test models); its torchvision/timm deps are not
	$(BIN)/pip install --quiet --no-deps -c constraints.txt 'open-clip-torch>=2.24,<4'
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[export,dev]'
	touch $@

# photogen depends on onnxruntime, so any install above may bring it back beside onnxruntime-gpu:
# when the installed pair is not exactly $(ORT), remove both (they share files) and install $(ORT) alone.
onnxruntime: $(VENV)/.app-installed
	@$(BIN)/python -c "import importlib.metadata as m, sys; \
	have = {d.metadata['Name'].lower() for d in m.distributions()} & {'onnxruntime', 'onnxruntime-gpu'}; \
	sys.exit(have != {'$(ORT)'})" || { \
	  $(BIN)/pip uninstall --quiet -y onnxruntime onnxruntime-gpu; \
	  $(BIN)/pip install --quiet -c constraints.txt $(ORT); }

# plain `name==version` pins an index serves (never a local wheel path or URL): see .ci/constraints.py
constraints: $(VENV)/.dev-installed
	$(BIN)/python .ci/constraints.py constraints.txt > constraints.tmp && mv constraints.tmp constraints.txt
	$(MAKE) requirements

# what a Hugging Face Space installs, pinned as in constraints.txt: see .ci/space_requirements.py
requirements: $(VENV)/.dev-installed
	$(BIN)/python .ci/space_requirements.py > requirements.tmp && mv requirements.tmp requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
