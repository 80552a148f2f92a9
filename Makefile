# tcplab — every target does its own set-up on a fresh machine (Debian or Ubuntu, as root
# or with sudo for the package install) and installs only what that target needs.
CARGO ?= cargo
# cargo builds into CARGO_TARGET_DIR when it is set; so do we.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
TCPLAB := $(TARGET_DIR)/release/tcplab
CAPTURES := handshake server-closes four-way merged-close half-close refused abort stale-syn \
	simultaneous-open simultaneous-close syn-retry zero-window lossy lan
# Debian packages per need: libpcap's headers to build; the comparison tools, nftables (the
# lab's dropping scenarios), iproute2 (`ip`: the LAN lab's namespaces and links), jq (the docs' examples), python3 (the terminal tests), and
# Chromium with its WebDriver and a Chinese font (the web page's tests) to test.
BUILD_PACKAGES := libpcap-dev
TEST_PACKAGES := $(BUILD_PACKAGES) tcpdump tshark nftables iproute2 jq python3 chromium chromium-driver fonts-wqy-microhei
# The other systems tcplab runs on, checked from this one by check-targets.
CHECK_TARGETS := x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc x86_64-unknown-freebsd
# Installs whichever of $(1) are missing, naming them.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: setup setup-build build test lint check-targets demo captures man install setcap bench clean

# What building needs (libpcap); `make test` adds what the tests compare with.
setup-build:
	$(call apt_install,$(BUILD_PACKAGES))

setup:
	$(call apt_install,$(TEST_PACKAGES))

build: setup-build
	$(CARGO) build --release

test: setup
	$(CARGO) build --release
	$(CARGO) test --release

lint: setup-build
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
	$(TCPLAB) demo

# Records the shipped captures again with the lab's real scenarios. They are what the
# golden tests and the docs' examples read: review `cargo insta review` afterwards.
captures: build
	@echo "make captures: rewriting the shipped captures in captures/; the golden files (tests/snapshots) and the docs' examples follow them"
	@for s in $(CAPTURES); do $(TCPLAB) lab $$s --write captures/$$s.pcap --color never > /dev/null || exit 1; done
	@echo "recorded: $(CAPTURES)"

# Manual pages from the clap definition: tcplab.1 and one per subcommand.
man: build
	$(TCPLAB) man --out-dir $(TARGET_DIR)/man
	@echo "read them with: man -l $(TARGET_DIR)/man/tcplab.1"

# As yourself, not root: cargo install from this checkout into ~/.cargo/bin.
install: setup-build
	$(CARGO) install --path . --locked

# As root, after `make install`: lets the installed binary capture without sudo.
# CAP_NET_RAW opens packet sockets, CAP_NET_ADMIN sets promiscuous mode and kernel
# filters. The binary is found on the invoking user's PATH (sudo keeps SUDO_USER), or
# named with BIN=/path/to/tcplab.
setcap:
	@bin="$(BIN)"; \
	if [ -z "$$bin" ] && [ -n "$$SUDO_USER" ]; then bin=$$(su - "$$SUDO_USER" -c 'command -v tcplab' 2>/dev/null); fi; \
	if [ -z "$$bin" ] && [ -n "$$SUDO_USER" ]; then home=$$(getent passwd "$$SUDO_USER" | cut -d: -f6); [ -x "$$home/.cargo/bin/tcplab" ] && bin="$$home/.cargo/bin/tcplab"; fi; \
	if [ -z "$$bin" ]; then bin=$$(command -v tcplab); fi; \
	if [ -z "$$bin" ] || [ ! -x "$$bin" ]; then \
		echo "make setcap: no installed tcplab found; run 'make install' first, or name it: sudo make setcap BIN=/path/to/tcplab" >&2; exit 1; \
	fi; \
	bin=$$(readlink -f "$$bin"); \
	command -v setcap >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin:/sbin"; \
	setcap cap_net_raw,cap_net_admin=eip "$$bin" && getcap "$$bin"

# Speed and memory against tcpdump and tshark on the same files (docs/performance.md).
bench: build
	@command -v /usr/bin/time >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null)
	$(CARGO) bench --bench compare

clean:
	$(CARGO) clean
