# tcplab — every target does its own set-up on a fresh machine.
CARGO ?= cargo
BIN := target/release/tcplab
CAPTURES := handshake server-closes four-way merged-close half-close refused abort stale-syn \
	simultaneous-open simultaneous-close syn-retry zero-window lossy

# The other systems tcplab runs on, checked from this one by check-targets.
CHECK_TARGETS := x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc x86_64-unknown-freebsd

.PHONY: setup build test lint check-targets demo captures man install install-setcap clean

# libpcap's headers for the pcap crate; tcpdump and tshark for the comparison tests;
# nftables for the lab scenarios that drop packets (nft lives in /usr/sbin).
setup:
	@if ! dpkg -s libpcap-dev >/dev/null 2>&1 || ! command -v tshark >/dev/null 2>&1 || ! command -v tcpdump >/dev/null 2>&1 || ! PATH="$$PATH:/usr/sbin:/sbin" command -v nft >/dev/null 2>&1; then \
		echo "installing libpcap-dev tcpdump tshark nftables"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev tcpdump tshark nftables >/dev/null; \
	fi

build: setup
	$(CARGO) build --release

test: setup
	$(CARGO) build --release
	$(CARGO) test --release

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings

# clippy as macOS (Intel and Apple silicon), Windows and FreeBSD compile the code, every
# target's tests and bench included; installs the Rust targets when missing. A check
# needs no libpcap of the target's own (nothing is linked); LIBPCAP_VER tells the pcap
# crate which API to expect: Npcap and macOS ship libpcap 1.10, as Debian does.
check-targets:
	@command -v rustup >/dev/null 2>&1 || { echo "check-targets needs rustup (https://rustup.rs)" >&2; exit 1; }
	@installed="$$(rustup target list --installed)"; \
	for t in $(CHECK_TARGETS); do \
		echo "$$installed" | grep -qx "$$t" || rustup target add "$$t" || exit 1; \
	done
	@for t in $(CHECK_TARGETS); do \
		echo "clippy --target $$t"; \
		LIBPCAP_VER=1.10.0 $(CARGO) clippy --quiet --all-targets --target "$$t" -- -D warnings || exit 1; \
	done

# The main job: server, client and live capture on loopback, annotated.
demo: build
	$(BIN) demo

# Records the shipped captures again with the lab's real scenarios.
captures: build
	@for s in $(CAPTURES); do $(BIN) lab $$s --write captures/$$s.pcap --color never > /dev/null || exit 1; done
	@echo "recorded: $(CAPTURES)"

# Manual pages from the clap definition: target/man/tcplab.1 and one per subcommand.
man: build
	$(BIN) man --out-dir target/man
	@echo "read them with: man -l target/man/tcplab.1"

# Installs the binary into ~/.cargo/bin (cargo install from this checkout).
install: setup
	$(CARGO) install --path . --locked

# Lets the installed binary capture without sudo: CAP_NET_RAW opens packet sockets,
# CAP_NET_ADMIN sets promiscuous mode and kernel filters. Needs root once.
install-setcap: install
	setcap cap_net_raw,cap_net_admin=eip "$$(command -v tcplab || echo $$HOME/.cargo/bin/tcplab)"
	@getcap "$$(command -v tcplab || echo $$HOME/.cargo/bin/tcplab)"

# Speed and memory against tcpdump and tshark on the same files (docs/performance.md).
bench: build
	@command -v /usr/bin/time >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null)
	$(CARGO) bench --bench compare

clean:
	$(CARGO) clean
