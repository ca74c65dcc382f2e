# SSV: self-supervised viewpoint learning. `make help` lists targets and variables.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build pinned for a reproducible install; GPU users pass their own, e.g.
#   make install TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
TORCH ?= torch==2.13.0
CATEGORY ?= faces
CONFIG ?=
PROFILE ?=
ARGS ?=
RESUME ?=
SWEEP ?=
COUNT ?=
LOGGER ?=
DEVICES ?=
CKPT ?=
DATA ?=
OUT ?=
INPUT ?=
FORMAT ?= onnx
N_CALIBRATION ?=
BUDGET ?= 30
ROWS ?=
MILESTONES ?=
DATASET ?=
SRC ?=
DST ?=
SIZE ?= 128
BATCH ?=
REFERENCE ?=
VARIANTS ?=
STAMP := $(VENV)/.installed-stamp

export NO_ALBUMENTATIONS_UPDATE := 1
export PYTHONUNBUFFERED := 1

.DEFAULT_GOAL := help
.PHONY: help install test test-quick test-slow lint train data samples-grid clean
.PHONY: eval diagnose transfer bench bench-accuracy sweep device-check
.PHONY: predict calibrate export
.PHONY: prepare shards

help: ## List targets and variables
	@echo "Targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo "Variables:"
	@echo "  CATEGORY=$(CATEGORY)   object category: faces | cars | buses (experiments/<CATEGORY>.yaml)"
	@echo "  CONFIG=$(CONFIG)       an experiment file instead of CATEGORY, e.g. experiments/faces-no-imc.yaml"
	@echo "  PROFILE=$(PROFILE)     paper (128 px, recipe widths) | cpu (the CPU recipe) | small (64 px); empty: cpu on CPU, paper on GPU"
	@echo "  ARGS=\"k=v ...\"       OmegaConf dotlist overrides, e.g. ARGS=\"trainer.max_steps=100 data.batch_size=8\""
	@echo "  RESUME=<ckpt>|auto   train: continue a checkpoint (auto: the newest readable runs/<category>/*/checkpoints/*.ckpt)"
	@echo "  LOGGER=wandb|csv|tensorboard  train: experiment logger (default wandb, offline without key or network)"
	@echo "  DEVICES=<n>          train: devices per node (DDP when more than one)"
	@echo "  SWEEP=<name>         sweep: experiments/sweeps/<name>.yaml; COUNT=<n> runs for this agent"
	@echo "  CKPT=<path.ckpt>     eval: checkpoint of SSV or the supervised baseline; diagnose, transfer: of SSV"
	@echo "  DATA=<spec>          eval, transfer: synthetic:<category> (its test split), a labels.csv or a folder holding one"
	@echo "  OUT=<dir>            eval, diagnose, transfer, bench, bench-accuracy: output folder (eval default: <run>/eval/<ckpt>-<DATA>,"
	@echo "                       where training's own evaluation goes; diagnose, transfer default: beside the checkpoint)"
	@echo "                       predict: output folder (required); calibrate, export: output file (default: beside CKPT)"
	@echo "  INPUT=<path>         predict: an image, a folder of images or a video (ARGS=\"--camera 0\" for a webcam)"
	@echo "  FORMAT=$(FORMAT)          export: onnx | torchscript"
	@echo "  N_CALIBRATION=$(N_CALIBRATION)      eval, bench-accuracy: calibration images (empty: 100)"
	@echo "  BATCH=$(BATCH)             bench: batch size (empty: the profile's)"
	@echo "  REFERENCE=1          bench: also time the release's design and print the speed-up"
	@echo "  VARIANTS=$(VARIANTS)          bench: bf16,compile (default both) or none"
	@echo "  BUDGET=$(BUDGET)            bench-accuracy: training minutes per trained row"
	@echo "  ROWS=$(ROWS)             bench-accuracy: rows, e.g. constant,supervised,ssv-full (empty: all)"
	@echo "  MILESTONES=$(MILESTONES)       bench-accuracy: minutes to also save and evaluate, e.g. 15,30 (learning curve)"
	@echo "  DATASET=<name>       prepare: one of the datasets below (python -m ssv.prepare dataset --help)"
	@echo "                       $$(PYTHONPATH=. $(BIN)/python -m datamodules.datasets.registry 2>/dev/null || echo '(listed once make install has run)')"
	@echo "  SRC=<dir> DST=<dir>  prepare, shards: input and output folders"
	@echo "  SIZE=$(SIZE)             prepare: crop side in pixels"
	@echo "  TORCH=$(TORCH)  torch requirement installed first (choose your CUDA build here)"
	@echo "  PYTHON=$(PYTHON)  interpreter used to create $(VENV)"

$(STAMP): setup.cfg setup.py pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project (re-runs when setup.cfg or setup.py changes)

test: $(STAMP) ## Run the default test suite, what CI runs (about 6 minutes on 2 cores)
	$(BIN)/python -m pytest

test-quick: $(STAMP) ## The edit-test loop: the default suite without its integration runs (about 35 s)
	$(BIN)/python -m pytest -m "not slow and not integration"

test-slow: $(STAMP) ## Run only the slow checks
	$(BIN)/python -m pytest -m slow

lint: $(STAMP) ## Static checks (flake8, settings in setup.cfg)
	$(BIN)/python -m flake8 src datamodules tests

data: $(STAMP) ## Render the synthetic collection for CATEGORY (cached)
	$(BIN)/python -m ssv.synthetic.cli --category $(CATEGORY) $(ARGS)

samples-grid: $(STAMP) ## Regenerate docs/synthetic_samples.png for the README
	$(BIN)/python -m ssv.synthetic.cli --grid docs/synthetic_samples.png

train: $(STAMP) ## Train SSV on CATEGORY (synthetic data unless data.root is set)
	$(BIN)/python -m ssv.train $(if $(CONFIG),--config "$(CONFIG)",--category $(CATEGORY)) $(if $(PROFILE),--profile $(PROFILE)) $(if $(RESUME),--resume "$(RESUME)") $(if $(LOGGER),trainer.logger=$(LOGGER)) $(if $(DEVICES),trainer.devices=$(DEVICES)) $(ARGS)

eval: $(STAMP) ## Evaluate CKPT on labeled DATA (calibrated MAE table, metrics.json, predictions.csv, plots)
	@test -n "$(CKPT)" -a -n "$(DATA)" || { echo "error: set CKPT=<path.ckpt> and DATA=<spec>, e.g. DATA=synthetic:faces" >&2; exit 2; }
	$(BIN)/python -m ssv.evaluation --ckpt "$(CKPT)" --data "$(DATA)" $(if $(OUT),--out "$(OUT)") $(if $(N_CALIBRATION),--n-calibration $(N_CALIBRATION)) $(ARGS)

predict: $(STAMP) ## Predict viewpoints with CKPT (.ckpt or .onnx) on INPUT into OUT (predictions.csv, overlays); ARGS: --detect faces, --calibration, --camera N
	@test -n "$(CKPT)" -a -n "$(OUT)" || { echo "error: set CKPT=<path.ckpt|.onnx>, INPUT=<image, folder or video> and OUT=<dir>" >&2; exit 2; }
	$(BIN)/python -m ssv.inference.predict --ckpt "$(CKPT)" $(if $(INPUT),--input "$(INPUT)") --out "$(OUT)" $(ARGS)

calibrate: $(STAMP) ## Fit CKPT's per-angle calibration on labeled DATA (a few images do); writes <ckpt>.calibration.json
	@test -n "$(CKPT)" -a -n "$(DATA)" || { echo "error: set CKPT=<path.ckpt> and DATA=<labels.csv, folder or spec>" >&2; exit 2; }
	$(BIN)/python -m ssv.inference.calibrate --ckpt "$(CKPT)" --data "$(DATA)" $(if $(OUT),--out "$(OUT)")

export: $(STAMP) ## Export V of CKPT as FORMAT=onnx|torchscript (dynamic batch; per-image rule), beside CKPT unless OUT
	@test -n "$(CKPT)" || { echo "error: set CKPT=<path.ckpt> (and FORMAT=onnx|torchscript)" >&2; exit 2; }
	$(BIN)/python -m ssv.inference.export --ckpt "$(CKPT)" --format "$(FORMAT)" $(if $(OUT),--out "$(OUT)")

diagnose: $(STAMP) ## Does CKPT's generator render viewpoints, and does V read them? (label-free; diagnostics.json)
	@test -n "$(CKPT)" || { echo "error: set CKPT=<path.ckpt> of an SSV run" >&2; exit 2; }
	$(BIN)/python -m ssv.evaluation.diagnostics --ckpt "$(CKPT)" $(if $(OUT),--out "$(OUT)")

transfer: $(STAMP) ## Train a fresh V on CKPT's fakes alone, compare it with CKPT's V on DATA (transfer.json)
	@test -n "$(CKPT)" -a -n "$(DATA)" || { echo "error: set CKPT=<path.ckpt> of an SSV run and DATA=<labeled images>" >&2; exit 2; }
	$(BIN)/python -m ssv.evaluation.transfer --ckpt "$(CKPT)" --data "$(DATA)" $(if $(OUT),--out "$(OUT)") $(ARGS)

bench: $(STAMP) ## Time training iterations, V/S steps, loader and inference; bench.json (see docs/performance.md)
	$(BIN)/python -m ssv.benchmark.speed --category $(CATEGORY) $(if $(PROFILE),--profile $(PROFILE)) $(if $(BATCH),--batch $(BATCH)) $(if $(REFERENCE),--reference) $(if $(VARIANTS),--variants $(VARIANTS)) $(if $(OUT),--out "$(OUT)") $(ARGS)

bench-accuracy: $(STAMP) ## Train each accuracy row on CATEGORY for BUDGET minutes, evaluate all, print one table
	$(BIN)/python -m ssv.benchmark.accuracy --category $(CATEGORY) --budget $(BUDGET) $(if $(PROFILE),--profile $(PROFILE)) $(if $(ROWS),--rows $(ROWS)) $(if $(MILESTONES),--milestones $(MILESTONES)) $(if $(OUT),--out "$(OUT)") $(if $(N_CALIBRATION),--n-calibration $(N_CALIBRATION)) $(ARGS)

device-check: $(STAMP) ## On a GPU machine: cuda tests, paper bench (bf16, compile, reference), two 5-min trainings; one JSON
	$(BIN)/python -m ssv.benchmark.device_check $(if $(OUT),--out "$(OUT)") $(ARGS)

clean: ## Remove caches (keeps .venv, data and runs)
	rm -rf .pytest_cache build src/*.egg-info
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

sweep: $(STAMP) ## Create the W&B sweep SWEEP and start an agent on it
	@test -n "$(SWEEP)" || { echo "usage: make sweep SWEEP=<name> (see experiments/sweeps/)"; exit 2; }
	$(BIN)/python -m ssv.sweep --sweep $(SWEEP) $(if $(COUNT),--count $(COUNT))

prepare: $(STAMP) ## Crop raw DATASET in SRC into DST (images/, labels.csv, skipped.csv); flags in ARGS
	@test -n "$(DATASET)" -a -n "$(SRC)" -a -n "$(DST)" || { echo "error: set DATASET=<name> SRC=<raw dir> DST=<out dir> (see make help)" >&2; exit 2; }
	$(BIN)/python -m ssv.prepare dataset $(DATASET) "$(SRC)" "$(DST)" --size $(SIZE) $(ARGS)

shards: $(STAMP) ## Convert the image folder SRC into WebDataset shards in DST (data.root for streaming)
	@test -n "$(SRC)" -a -n "$(DST)" || { echo "error: set SRC=<image folder> DST=<out dir>" >&2; exit 2; }
	$(BIN)/python -m ssv.prepare shards "$(SRC)" "$(DST)" $(ARGS)
