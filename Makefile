# Berth: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
TOOLS := $(CURDIR)/target/tools
TAURI_DRIVER := $(TOOLS)/bin/tauri-driver

.PHONY: bench deps-bench demo fuzz lint help run test deps deps-test node-modules ui app tauri-driver test-ui test-rust bindings-check fmt-check package test-package icons clean

help:
	@echo "make run    install what Tauri needs, build the UI and the app, open the window"
	@echo "make test   install the test servers and tools, then run every test (Rust, UI, end to end)"
	@echo "make demo   start a seeded registry:2, Harbor and Nexus on loopback and open the window on them"

## --- set-up -------------------------------------------------------------------------------
deps:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh test

# `npm install`, not `npm ci`: the npm registry reachable here serves the Tauri CLI's binary for this
# platform only, so the lock cannot list the others and `npm ci` would refuse it (npm/cli#8320).
# The lock still pins every version.
node_modules/.package-lock.json: package-lock.json package.json ui/package.json
	npm install --no-audit --no-fund --no-save
	@touch $@

node-modules: node_modules/.package-lock.json

# tauri-driver from crates.io, into the project's own tools dir (no download of prebuilt binaries).
$(TAURI_DRIVER):
	$(CARGO) install tauri-driver@2.1.0 --locked --root $(TOOLS)

tauri-driver: $(TAURI_DRIVER)

## --- build --------------------------------------------------------------------------------
ui: node-modules
	npm --prefix ui run build

# The desktop binary embeds ui/dist (custom-protocol is a default feature) and the CLI.
app: ui
	$(CARGO) build -p berth-desktop -p berth-cli

run: deps node-modules app
	./target/debug/berth-desktop

# Every backend at once, on loopback: a real registry:2 and the Harbor and Nexus emulators (real
# registries behind them), seeded, with a profile for each, then the window (scripts/demo.sh).
demo: deps deps-test node-modules app
	$(CARGO) build -p berth-testkit --bin berth-demo
	scripts/demo.sh

## --- tests --------------------------------------------------------------------------------
test-ui: node-modules
	npm --prefix ui run check
	npm --prefix ui test

fmt-check:
	$(CARGO) fmt --all -- --check

# The crates that parse server data deny unwrap, expect and unchecked indexing outside tests
# (`#![cfg_attr(not(test), deny(...))]` in each lib.rs); clippy checks them (about 30 s: a check
# build of their dependencies, beside the one real build).
lint:
	$(CARGO) clippy -p berth-registry -p berth-harbor -p berth-nexus --no-deps

# ts-rs regenerates ui/src/bindings during `cargo test`: the committed files must be what Rust says.
bindings-check:
	@git diff --exit-code --stat -- ui/src/bindings || { echo "ui/src/bindings is stale: run 'make test' and commit the regenerated files"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- ui/src/bindings)" || { echo "new generated bindings are not committed:"; git ls-files --others --exclude-standard -- ui/src/bindings; exit 1; }

# One cargo resolution for everything (all targets of the whole workspace), so nothing is built twice;
# then every Rust test, end-to-end window tests included, in a headless X + D-Bus session. The logs of
# the berth processes the tests start go under target/, not to the user's ~/.local/state/berth/logs.
test-rust: ui tauri-driver
	$(CARGO) build --workspace --all-targets
	BERTH_LOG_DIR=$(CURDIR)/target/test-logs TAURI_DRIVER=$(TAURI_DRIVER) scripts/headless.sh $(CARGO) test --workspace --all-targets

test: deps-test node-modules fmt-check lint test-ui test-rust bindings-check test-package
	@echo "make test: all passed"

# The sync benchmark (issue 4): release build, seeds a real registry, prints figures against targets.
# The window part (issue 22) drives the release app through tauri-driver, in a headless session.
deps-bench:
	scripts/install-deps.sh bench

bench: deps-bench ui tauri-driver
	$(CARGO) build --release -p berth-cli -p berth-bench -p berth-desktop
	TAURI_DRIVER=$(TAURI_DRIVER) scripts/headless.sh ./target/release/berth-bench

# Fuzz each parser for FUZZ_SECONDS (cargo-fuzz from crates.io; libFuzzer needs nightly flags, which
# RUSTC_BOOTSTRAP=1 allows on the stable toolchain). `make test` runs the same parses over 20,000
# deterministic mutations of real answers each (berth_testkit::mutations), inside the one build.
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in www_authenticate link manifest harbor nexus; do \
	  (cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done

# The .deb (issue 9) and the .rpm (Fedora, RHEL, CentOS): one release cargo run for the app and the
# CLI (the bundler's own, with `-p` for both, so nothing is compiled twice), then the Tauri bundler packs
# both into each (/usr/bin/berth-desktop and /usr/bin/berth, see tauri.conf.json bundle.linux.deb and
# .rpm). beforeBuildCommand builds the UI.
package: deps node-modules
	npx tauri build --bundles deb,rpm -- -p berth-desktop -p berth-cli

# Installs the .deb with apt, checks it, opens the installed window under Xvfb, removes the package;
# checks the .rpm's metadata and file list with rpm (Debian's `rpm` package reads them).
test-package: package
	scripts/test-package.sh

# The Linux icons, every size from the one SVG: `npx tauri icon icons/berth.svg` makes 32, 64, 128 and
# 512 (icon.png), this the other hicolor sizes.
icons:
	npx tauri icon icons/berth.svg --png 16,24,48,256

clean:
	$(CARGO) clean
	rm -rf ui/dist node_modules test-artifacts
