# The two commands of the README: `make serve` and `make test`. Each installs what is missing.
SWIFT ?= swift
PORT ?= 8080
HOST ?= 127.0.0.1

.PHONY: serve test build release unit e2e bench mutants clean install uninstall
PREFIX ?= /usr/local

serve: release
	.build/release/storefront serve --manifests manifests --store storefront.db --host $(HOST) --port $(PORT)

release:
	scripts/setup.sh
	$(SWIFT) build -c release --product storefront

build:
	scripts/setup.sh
	$(SWIFT) build --product storefront

# The end-to-end suite runs twice: on SQLite files, then on PostgreSQL (a throwaway cluster the
# suite makes with Debian's initdb on a free loopback port, and deletes at the end).
test:
	scripts/setup.sh --test
	SWIFT=$(SWIFT) scripts/build-checked.sh
	$(SWIFT) test --skip-build
	STOREFRONT_BIN=$(CURDIR)/.build/debug/storefront .venv/bin/python -m pytest -q tests/e2e
	STOREFRONT_TEST_STORE=postgres STOREFRONT_BIN=$(CURDIR)/.build/debug/storefront .venv/bin/python -m pytest -q tests/e2e

unit:
	$(SWIFT) test

e2e: build
	scripts/setup.sh --test
	STOREFRONT_BIN=$(CURDIR)/.build/debug/storefront .venv/bin/python -m pytest -q tests/e2e
	STOREFRONT_TEST_STORE=postgres STOREFRONT_BIN=$(CURDIR)/.build/debug/storefront .venv/bin/python -m pytest -q tests/e2e

bench:
	scripts/setup.sh --test --bench
	$(SWIFT) build -c release --product storefront
	bench/run.sh
	bench/actions.sh
	bench/hardening_cost.sh
	bench/nodes.sh
	bench/auth_cost.sh
	bench/verification_cost.sh
	bench/verification_instructions.sh
	.venv/bin/python bench/attack.py

# The mutation harness: each one-line mutant of tests/mutants.txt is applied to a scratch copy of
# the repository (never this tree), rebuilt, and must fail the tests it names. MUTANTS_ARGS passes
# options (e.g. MUTANTS_ARGS="--only balance-one-short" or "-k limit"; scripts/mutants.py --help).
mutants:
	scripts/setup.sh --test
	.venv/bin/python scripts/mutants.py $(MUTANTS_ARGS)

clean:
	rm -rf .build .venv storefront.db storefront.db-wal storefront.db-shm

# `storefront` on the PATH: the binary in $(PREFIX)/bin, the schemas and the dashboard it needs in
# $(PREFIX)/share/storefront (found from the binary's own location, so any folder works).
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/storefront
	install -m 0755 .build/release/storefront $(DESTDIR)$(PREFIX)/bin/storefront
	for bundle in .build/release/storefront_*.resources; do rm -rf $(DESTDIR)$(PREFIX)/bin/$$(basename $$bundle); cp -R $$bundle $(DESTDIR)$(PREFIX)/bin/; done
	rm -rf $(DESTDIR)$(PREFIX)/share/storefront/schemas $(DESTDIR)$(PREFIX)/share/storefront/public
	cp -R schemas public $(DESTDIR)$(PREFIX)/share/storefront/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/storefront $(DESTDIR)$(PREFIX)/bin/storefront_*.resources \
		$(DESTDIR)$(PREFIX)/share/storefront
