# nnclr — `make run` trains, evaluates and exports a model; `make test` checks everything. Both
# set the project up first when needed (`make setup` does it explicitly).
SHELL := /bin/bash
GO ?= go
TF_DIR := third_party/tensorflow
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python

# CGO_CFLAGS / CGO_LDFLAGS (include dir, lib dir, rpath) written by the provisioning script.
-include $(TF_DIR)/cgo.mk
export NNCLR_PYTHON := $(PY)

# Debian packages make setup installs (the Docker build, on Ubuntu, passes its own list).
APT_PACKAGES ?= binutils iproute2 python3-venv dataset-fashion-mnist chromium
# Alternative requirements for the virtualenv, and an existing libtensorflow (see provision.sh).
NNCLR_PY_REQUIREMENTS ?=
NNCLR_TF_PREFIX ?=

.PHONY: test-long setup ready run bench-quality bench-resnet bench-tta apt provision deps goenv build test check fmt-check vet gotest pyref-check docker-check bench clean check-provisioned

# The set-up is redone when what it installs from changes; ready (which run and test depend on)
# is fast when nothing did.
SETUP_STAMP := $(VENV)/.nnclr-setup
SETUP_INPUTS := go.mod go.sum $(TF_DIR)/provision.sh $(TF_DIR)/requirements.txt $(TF_DIR)/constraints.txt

## setup: apt packages, libtensorflow + pinned Python tools, Go modules, bin/nnclr
setup: apt provision deps
	$(MAKE) --no-print-directory build
	@touch $(SETUP_STAMP)
	@echo "setup: make targets find libtensorflow by themselves; for plain go build/go test in a shell, run: . $(TF_DIR)/env.sh"

$(SETUP_STAMP): $(SETUP_INPUTS)
	$(MAKE) --no-print-directory setup

## ready: set up when needed, and bin/nnclr up to date with the sources
ready: $(SETUP_STAMP)
	@$(MAKE) --no-print-directory build

# The main job. Default: Fashion-MNIST from the Debian package (prepared on first use, offline),
# 32×32×1, width 128, 3 epochs of 100 steps of 256 unlabelled + 64 labelled images (about two
# minutes of pretraining on 2 cores, with the kNN monitor after each epoch), then linear and kNN
# evaluation with the test split's projector files, the nearest-neighbour sheet and a SavedModel export.
# DATASET=stl10 runs the Keras example's configuration (96×96×3, 5 epochs of 50 steps, batches of
# split size / steps); EPOCHS, STEPS, IMAGE_SIZE, BATCHES, RUN_DIR and RUN_FLAGS override.
# SOURCE=DIR prepares a folder of your own images as DATASET (default my_images; PREPARE_FLAGS
# default to a stratified 20% test split, give PREPARE_FLAGS= for DIR/<split>/<class>/...) and
# runs the Keras example's configuration on it.
SOURCE ?=
ifneq ($(SOURCE),)
DATASET ?= my_images
PREPARE_FLAGS ?= --test-fraction 0.2
endif
DATASET ?= fashion_mnist
RUN_DIR ?= runs/$(DATASET)
ifeq ($(DATASET),fashion_mnist)
IMAGE_SIZE ?= 32
EPOCHS ?= 3
STEPS ?= 100
BATCHES ?= --unlabelled-batch 256 --labelled-batch 64
else
IMAGE_SIZE ?= 96
EPOCHS ?= 5
STEPS ?= 50
BATCHES ?=
endif
RUN_FLAGS ?=

## run: set up when needed, then pretrain, evaluate and export DATASET (default fashion_mnist;
## SOURCE=DIR: your own image folder)
run: ready
	@set -e; resume=; if [ -e "$(RUN_DIR)/checkpoints/checkpoint" ]; then resume=--resume; echo "run: $(RUN_DIR) exists: resuming it"; fi; \
	if [ -n "$(SOURCE)" ]; then bin/nnclr --mode prepare --dataset $(DATASET) --source "$(SOURCE)" $(PREPARE_FLAGS); fi; \
	bin/nnclr --mode pretrain --dataset $(DATASET) --run-dir $(RUN_DIR) $$resume --image-size $(IMAGE_SIZE) \
	  --epochs $(EPOCHS) --steps-per-epoch $(STEPS) --knn-every 1 $(BATCHES) $(RUN_FLAGS); \
	bin/nnclr --mode evaluate --dataset $(DATASET) --run-dir $(RUN_DIR) --out $(RUN_DIR)/evaluation.json --projector; \
	bin/nnclr --mode neighbours --dataset $(DATASET) --run-dir $(RUN_DIR) --out $(RUN_DIR)/neighbours.png; \
	bin/nnclr --mode export --run-dir $(RUN_DIR) --out $(RUN_DIR)/savedmodel --overwrite; \
	echo; echo "run directory:   $(RUN_DIR) (run.json, metrics.jsonl, checkpoints/, evaluation.json, neighbours.png)"; \
	echo "SavedModel:      $(RUN_DIR)/savedmodel (serving_default: uint8 images -> embedding, logits, probabilities)"; \
	echo "TensorBoard:     $(VENV)/bin/tensorboard --logdir $(RUN_DIR) (scalars with val/knn_top1, and the Projector)"

apt:
	@if [ -z "$(strip $(APT_PACKAGES))" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else \
	  echo "setup: not root or no apt-get: install $(APT_PACKAGES) yourself"; \
	fi

provision:
	NNCLR_PY_REQUIREMENTS="$(NNCLR_PY_REQUIREMENTS)" NNCLR_TF_PREFIX="$(NNCLR_TF_PREFIX)" $(TF_DIR)/provision.sh

deps:
	$(GO) mod download

# Opt-in only (setup never runs it): record the cgo flags in the user's global go env, so plain
# go commands find libtensorflow in every shell. It changes $$(go env GOENV) for all projects.
goenv: check-provisioned
	@echo "goenv: writing CGO_CFLAGS and CGO_LDFLAGS to $$($(GO) env GOENV) (undo: go env -u CGO_CFLAGS CGO_LDFLAGS)"
	$(GO) env -w CGO_CFLAGS="$(CGO_CFLAGS)" CGO_LDFLAGS="$(CGO_LDFLAGS)"

check-provisioned:
	@test -f $(TF_DIR)/cgo.mk || { echo "libtensorflow is not provisioned: run 'make setup'"; exit 1; }

## build: bin/nnclr (the launcher) and bin/nnclr-tf (the CLI linked to libtensorflow)
build: check-provisioned
	$(GO) build -o bin/nnclr-tf ./cmd/nnclr
	CGO_ENABLED=0 $(GO) build -o bin/nnclr ./cmd/nnclr-launcher

## test: set up when needed, then formatting, vet, Go tests (including the cross-checks that run
## the pinned Python tools and pyref's NumPy self-check of the Keras reference), the Dockerfile lint
test: ready
	@$(MAKE) --no-print-directory check

check: check-provisioned fmt-check vet gotest docker-check

## test-long: the long cross-checks make test leaves out (more ResNet variants against Keras,
## resnet18 on 3 data-parallel workers against one process, the conditioning of resnet18 on 2
## worker processes)
test-long: ready
	NNCLR_LONG_CHECKS=1 $(GO) test -run 'ResNet|DataParallelEqualsOneProcess' -timeout 30m ./tfgraph/
	NNCLR_LONG_CHECKS=1 $(GO) test -run 'ClusterResNetConditioning' -timeout 30m ./cmd/nnclr/

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' ':!third_party/graft' 2>/dev/null || find . -name '*.go' -not -path './.venv/*' -not -path './third_party/graft/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

gotest:
	$(GO) test $(GOTESTFLAGS) ./...

# The Keras reference the Go tests compare with, checked against an independent NumPy model
# (go test ./pyref runs the same in make test).
pyref-check:
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) pyref/selfcheck.py

# The Dockerfile cannot be built here (no Docker engine): lint it, and run the runtime-collection
# script it uses, then start the collected launcher.
docker-check:
	$(CURDIR)/$(VENV)/bin/hadolint Dockerfile
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(TF_DIR)/collect-runtime.sh "$$tmp" && \
	LD_LIBRARY_PATH="$$tmp/lib" "$$tmp/bin/nnclr" --mode info --device cpu | grep -q '^tensorflow *2\.18\.' && \
	echo "docker-check: hadolint clean; collected runtime starts and reports TensorFlow 2.18"

## bench: figures and ratios against TF / Keras measured in the same run (see each Benchmark's doc)
BENCHTIME ?= 5x
bench: check-provisioned
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./augment/
	$(GO) test -run '^$$' -bench PipelineVsTFData -benchtime 2x ./loader/
	$(GO) test -run '^$$' -bench ImportFolder -benchtime 1x ./loader/
	$(GO) test -run '^$$' -bench 'TrainStep96|DataParallelStep' -benchtime 5x ./tfgraph/
	$(GO) test -run '^$$' -bench StepOps -benchtime 1x ./tfgraph/
	NNCLR_STEPOPS=resnet18 $(GO) test -run '^$$' -bench StepOps -benchtime 1x ./tfgraph/
	NNCLR_STEPOPS=conv4-32 $(GO) test -run '^$$' -bench StepOps -benchtime 1x ./tfgraph/
	$(GO) test -run '^$$' -bench CollectivesNetns -benchtime 1x -timeout 15m ./tfgraph/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./cmd/nnclr/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 150m ./run/

## bench-tta: only the time-to-accuracy comparison with Keras on Fashion-MNIST (about six minutes)
bench-tta: check-provisioned
	$(GO) test -run '^$$' -bench TimeToAccuracy -benchtime 1x -timeout 60m ./run/

## bench-quality: the learning comparisons on Fashion-MNIST: bf16 vs fp32 (about six minutes),
## the paper's options at a fixed budget each (about ten minutes) and conv4 vs resnet18 at two
## budgets (NNCLR_QUALITY_BUDGETS, default 2m,6m: about half an hour)
bench-quality: check-provisioned
	$(GO) test -run '^$$' -bench 'PrecisionQuality|PaperOptionsQuality|BackboneQuality' -benchtime 1x -timeout 120m -v ./run/

## bench-resnet: only the ResNet speed comparison with Keras (about twenty minutes)
bench-resnet: check-provisioned
	$(GO) test -run '^$$' -bench ResNetVsKeras -benchtime 1x -timeout 60m -v ./cmd/nnclr/

clean:
	rm -rf bin $(TF_DIR)/lib $(TF_DIR)/include $(TF_DIR)/cgo.mk $(TF_DIR)/env.sh
