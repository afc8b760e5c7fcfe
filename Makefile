# The front door: `make demo` and `make test` each do all the set-up first.
SHELL := /bin/bash
VENV := .venv/bin
export PATH := $(CURDIR)/.venv/bin:$(PATH)
SITES ?= 2

.PHONY: setup demo test test-fast lint bench lab-down clean

setup:
	@bash scripts/setup.sh

## The main job, on lab sites: start them, converge site.yml, verify.
demo: setup
	provisioner lab up --sites $(SITES)
	provisioner converge
	provisioner verify

## All gates: linters, type checks, unit tests, lab end-to-end tests, molecule.
test: setup lint
	pytest tests -v --durations=10

## Quick loop: everything that needs no container.
test-fast: setup lint
	pytest tests -m "not lab and not molecule"

lint: setup
	ruff check .
	ruff format --check .
	mypy
	yamllint .
	ansible-lint

bench: setup
	python bench/lab_up.py

lab-down:
	provisioner lab down --all

clean: lab-down
	rm -rf .state .lab
