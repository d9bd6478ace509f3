# pakashop.infra: `make demo` deploys staging on the local lab; `make test`
# runs every check. Both set up what they need (apt packages, .venv, the
# lab's base image) on a fresh Debian 12 machine, as root.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
COLLECTION_LINK := .cache/collections/ansible_collections/pakashop/infra
APT_PACKAGES := systemd-container debootstrap git openssh-client iproute2 python3-venv curl shellcheck
# The tests run a lab of their own beside the demo's (own bridge, subnet,
# endpoint); each can be moved so that two checkouts test side by side.
TEST_LAB_BRIDGE ?= br-pktest
TEST_LAB_SUBNET ?= 10.213.1
TEST_LAB_EC2_PORT ?= 5056
TEST_LAB_FRONTEND_PORT ?= 5066
TEST_LAB := LAB_STATE=$(CURDIR)/.lab-test LAB_BRIDGE=$(TEST_LAB_BRIDGE) LAB_SUBNET=$(TEST_LAB_SUBNET) \
            LAB_PREVIEW_HOSTS=1 \
            PAKASHOP_LAB_EC2_URL=http://127.0.0.1:$(TEST_LAB_EC2_PORT) \
            PAKASHOP_LAB_FRONTEND_URL=http://127.0.0.1:$(TEST_LAB_FRONTEND_PORT)

.PHONY: help demo test venv deps collection lab-up lab-down lab-status lab-clean \
        lint sanity workflows ee unit integration molecule test-lab-down chaos bench

help:
	@echo "make demo      set up, start the lab and deploy staging on it"
	@echo "make test      lint, sanity, unit and integration tests (starts a test lab)"
	@echo "make molecule  the service role's Molecule scenario (its own lab)"
	@echo "make chaos     load + faults during staging deploys on the lab (reports/chaos.md)"
	@echo "make bench     deploy/rollback timings on the lab (reports/bench.md, bench.json)"
	@echo "also           make venv | lab-up | lab-status | lab-down | lab-clean"

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(MAKE) --no-print-directory deps
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# ansible.cfg's collections_path finds the checkout as pakashop.infra here
# (CI runs `make collection` after installing requirements.txt).
collection: $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

lab-up: venv deps
	$(PY) -m lab up

lab-status: venv
	@$(PY) -m lab status

lab-down: venv
	$(PY) -m lab down

lab-clean: lab-down
	rm -rf .lab

demo: lab-up
	$(BIN)/ansible-playbook playbooks/deploy.yml -l staging
	@$(PY) -m lab endpoints staging

test: lint sanity workflows ee unit integration

lint: venv
	ANSIBLE_INVENTORY=$(CURDIR)/tests/lint/inventory.yml ANSIBLE_INVENTORY_ENABLED=ansible.builtin.yaml \
	  $(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

sanity: venv
	tests/sanity/run.sh

# The CI workflows against GitHub's workflow schema (offline: check-jsonschema's
# built-in copies), and every job has a timeout.
workflows: venv
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema custom.github-workflows-require-timeout .github/workflows/*.yml

# The execution environment's build context (execution-environment.yml);
# building the image from it needs a container engine, which is not here.
ee: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/ee
	mv .cache/ee/pakashop-infra-*.tar.gz .cache/ee/pakashop-infra.tar.gz
	$(BIN)/ansible-builder create --file execution-environment.yml --context .cache/ee-context

unit: venv
	$(BIN)/pytest tests/unit

integration: venv deps
	$(TEST_LAB) $(BIN)/pytest tests/integration

# The service role's Molecule scenario (its own lab: br-pkmol, 10.213.2.0/24):
# about 2 minutes, kept out of `make test` (about 35 here); .ci/run runs it after.
molecule: venv deps
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test

test-lab-down: venv
	$(TEST_LAB) $(PY) -m lab down
	LAB_STATE=$(CURDIR)/.lab-molecule LAB_BRIDGE=br-pkmol LAB_SUBNET=10.213.2 \
	  PAKASHOP_LAB_EC2_URL=http://127.0.0.1:5057 PAKASHOP_LAB_FRONTEND_URL=http://127.0.0.1:5067 \
	  $(PY) -m lab down

# The inventory benchmark (not part of `make test`): pakashop.infra.ec2 beside
# amazon.aws.aws_ec2, which only the benchmark's own venv has.
BENCH_VENV := .cache/bench-venv
.PHONY: bench-inventory
bench-inventory: venv $(BENCH_VENV)/.installed
	$(PY) tests/bench/inventory/bench.py --bench-venv $(BENCH_VENV)

$(BENCH_VENV)/.installed: tests/bench/inventory/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -r tests/bench/inventory/requirements.txt
	touch $@

# Not part of `make test`: each runs on the lab that LAB_STATE, LAB_BRIDGE,
# LAB_SUBNET, PAKASHOP_LAB_EC2_URL and PAKASHOP_LAB_FRONTEND_URL name (the demo lab when unset), starts
# it when needed and leaves it up. CHAOS_CASES / BENCH_SECTIONS pick a subset.
chaos: lab-up
	cd tests/chaos && ../../$(PY) run.py

bench: lab-up
	cd tests/bench && ../../$(PY) run.py
