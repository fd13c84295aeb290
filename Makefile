# Two commands on a fresh machine:  `make run` (install and start the app)  ·  `make test` (install and run the tests)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint constraints clean

run: $(VENV)/.app-installed
	$(BIN)/python app.py

test: $(VENV)/.dev-installed
	$(BIN)/ruff check photogen tests bench app.py
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check photogen tests bench app.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned first: 2.13.0 is the CPU build this project is tested with, and installing it
# first keeps later requirements (ranges that admit it) from pulling a multi-GB CUDA build.
$(VENV)/.torch-installed: $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	touch $@

$(VENV)/.app-installed: $(VENV)/.torch-installed pyproject.toml
	$(BIN)/pip install --quiet -c constraints.txt -e '.[export]'
	# only open_clip's CLIP tokenizer vocabulary is used (for test models); its torchvision/timm deps are not
	$(BIN)/pip install --quiet --no-deps -c constraints.txt 'open-clip-torch>=2.24,<4'
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[export,dev]'
	touch $@

constraints: $(VENV)/.dev-installed
	(head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable | sed 's/+cpu//' | grep -viE '^(-e|photogen|nvidia|triton|cuda)') > constraints.tmp && mv constraints.tmp constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
