# The front door: `make demo` and `make test` each do all the set-up first.
SHELL := /bin/bash
VENV := .venv/bin
export PATH := $(CURDIR)/.venv/bin:$(PATH)
REGISTRY ?= examples/bac-ninh.xlsx
PROVINCE ?= inventories/bac-ninh
DISTRICT ?= bac_ninh__hiep_hoa
OS ?= trixie

.PHONY: setup demo test test-fast lint bench lab-down clean

setup:
	@bash scripts/setup.sh

## The main job, on lab sites: the example registry → inventories; lab stand-ins for
## one district's sites; converge site.yml through the generated inventory; verify.
demo: setup
	provisioner inventory build $(REGISTRY) --out inventories
	provisioner lab up --from $(PROVINCE) --limit $(DISTRICT) --os $(OS)
	provisioner converge -i $(PROVINCE) --lab lab
	provisioner verify -i $(PROVINCE) --lab lab

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
	python bench/national_inventory.py
	python bench/rollout.py
	python bench/check.py
	python bench/audit.py

lab-down:
	provisioner lab down --all

clean: lab-down
	rm -rf .state .lab
