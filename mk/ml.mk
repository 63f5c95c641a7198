# ML area: the onnxruntime shared library (tests and run need it) and the
# notebooks that produce models/ (`make models`, not run in CI).

ORT_ENV := $(CACHE)/onnxruntime.env
ML_VENV := $(CACHE)/venv
NOTEBOOKS := notebooks/chat_safety.ipynb notebooks/frame_safety.ipynb

.PHONY: onnxruntime models models-venv

# Fetches and verifies libonnxruntime, then writes .cache/onnxruntime.env
# (export ONNXRUNTIME_LIB=...), which scripts/test.sh sources like the engines' .env files.
onnxruntime:
	@bash scripts/onnxruntime.sh

TEST_PREREQS += onnxruntime
RUN_PREREQS += onnxruntime

$(ML_VENV)/.installed: notebooks/requirements.txt
	python3 -m venv $(ML_VENV)
	$(ML_VENV)/bin/pip install -q --upgrade pip
	$(ML_VENV)/bin/pip install -q -r notebooks/requirements.txt
	touch $@

models-venv: $(ML_VENV)/.installed

# Runs every notebook headless, in place: each writes its model to models/,
# its card's figures and the golden tensors in ml/testdata/.
models: models-venv onnxruntime
	cd notebooks && for nb in $(notdir $(NOTEBOOKS)); do \
		echo "models: running $$nb"; \
		PATH=$(ML_VENV)/bin:$$PATH $(ML_VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.kernel_name=python3 $$nb || exit 1; \
	done
