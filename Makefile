# kefu: two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

# llama-cpp-python has no wheel for this platform: the first install compiles it (5 to 10 minutes).
# On x86-64 it is compiled for AVX2/FMA/F16C rather than -march=native: on Intel CPUs with AMX, llama.cpp's AMX
# weight repacking (llama-cpp-python 0.3.36) segfaults on the first prompt of more than one token. A wheel built
# natively earlier (pip's cache, or an older checkout) is detected by its AMX flag, dropped from pip's cache and rebuilt.
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
endif
AMX_CHECK := import llama_cpp, sys; sys.exit(b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info())

$(STAMP): pyproject.toml | $(BIN)/python
	@echo ">> installing kefu and its dependencies (the first time compiles llama.cpp: 5-10 min)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -c '$(AMX_CHECK)' || { echo ">> rebuilding llama-cpp-python without AMX"; \
	  $(BIN)/pip cache remove 'llama_cpp_python*'; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q --force-reinstall --no-deps \
	    "llama-cpp-python==$$($(BIN)/python -c 'import llama_cpp; print(llama_cpp.__version__)')"; \
	  $(BIN)/python -c '$(AMX_CHECK)'; }
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/kefu serve

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.knowledge
	$(BIN)/python -m bench.accounts
	$(BIN)/python -m bench.first_word

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) data .pytest_cache
