# uapi-conform: `make` fetches the headers, builds, and runs the main job;
# `make check` runs every test (Swift tests and the C shim's cmocka tests).
SWIFT        ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
BUILD_FLAGS  ?=
HEADERS      ?= .deps/linux-libc-dev/usr/include
BIN           = .build/debug/uapi-conform

.PHONY: all deps deps-6.12 profile-6.12 kcidb-venv build main check test-swift test-cshims bench \
	live fuzz-live fuzz-mutations live-tsm live-debug live-vng live-vng-build kernel kernel-debug kselftest \
	kselftest-diff \
	coverage clean

all: main

deps: $(HEADERS)/linux/iommufd.h

$(HEADERS)/linux/iommufd.h:
	scripts/fetch-debian-sid.sh linux-libc-dev .deps/linux-libc-dev usr/include/linux/iommufd.h

# Released kernels of fixtures/kernel/releases.tsv: `make deps-X.Y` fetches
# their headers into .deps/linux-libc-dev-X.Y, `make profile-X.Y` also their
# kernel source and rewrites fixtures/profiles/linux-X.Y.json.
# Static pattern rules: make skips implicit rules for .PHONY targets.
RELEASES = 6.12
$(addprefix deps-,$(RELEASES)): deps-%:
	scripts/release.sh headers linux-$*

$(addprefix profile-,$(RELEASES)): profile-%: build
	scripts/release.sh profile linux-$*

build:
	$(SWIFT) build $(BUILD_FLAGS)

# The main job: the ABI check on every ABI of the downloaded 7.2 headers,
# the ABI history of the released kernels (exit 1 on an incompatible change),
# then the case catalogue on the simulated kernel for every profile.
PROFILES      = linux-6.12 linux-7.2 tsm-v2 tsm-v5 tsm-post-v5 tsm-vfio-rfc
RELEASES      = linux-6.12,linux-7.2

main: deps build
	$(BIN) abi --headers $(HEADERS) --arch all
	$(BIN) abi --history $(RELEASES)
	@for p in $(PROFILES); do $(BIN) run --backend sim --profile $$p || exit 1; done

check: deps deps-6.12 kcidb-venv build test-cshims test-swift

# KernelCI's kcidb-io, which validates --format kcidb in the tests.
kcidb-venv:
	@scripts/kcidb-venv.sh >/dev/null

test-swift:
	$(SWIFT) test $(BUILD_FLAGS)

# Absolute, so a HEADERS given on the command line still holds inside CShims/.
test-cshims:
	$(MAKE) -C CShims test HEADERS=$(abspath $(HEADERS))

# Timings come from a release build; tests never time anything.
bench: deps
	$(SWIFT) build -c release $(BUILD_FLAGS)
	BIN=.build/release/uapi-conform scripts/bench.sh

# The live lane: build (or reuse) the kernel with iommufd, boot it under
# QEMU and run the catalogue against the real uAPI from inside the guest.
# Needs scripts/install-deps.sh --live. KERNEL is a release of
# fixtures/kernel/releases.tsv: 7.2 (default; profile tsm-v5, whose TSM cases
# skip there, results in out/vm/) or 6.12 (profile linux-6.12, out/vm-6.12/).
KERNEL        ?= 7.2
LIVE_TIMEOUT  ?= 600
LIVE_PROFILE  ?= $(if $(filter 7.2,$(KERNEL)),tsm-v5,linux-$(KERNEL))
LIVE_OUT      ?= out/vm$(if $(filter 7.2,$(KERNEL)),,-$(KERNEL))

kernel:
	scripts/build-kernel.sh --kernel $(KERNEL)

# Where the selftest mock cannot bind a device beside the vIOMMU (Linux 6.12
# probes it with the first IOMMU driver registered), its cases skip with that
# reason; a second boot with intel_iommu=off runs them (the vfio cases skip
# there: no IOMMU for edu), results in $(LIVE_OUT)-mock/.
LIVE_VM       = $(BIN) vm --timeout $(LIVE_TIMEOUT) --profile $(LIVE_PROFILE) \
		--kernel "$$(scripts/build-kernel.sh --kernel $(KERNEL) --print-path)"

live: deps build kernel
	$(LIVE_VM) --out $(LIVE_OUT)
	@if grep -q 'selftest mock cannot bind a device on this boot' $(LIVE_OUT)/results.json; then \
		echo "make live: the selftest mock cannot bind beside the vIOMMU; once more with intel_iommu=off"; \
		$(LIVE_VM) --append intel_iommu=off --out $(LIVE_OUT)-mock; fi

# The differential fuzz in the 7.2 lane (issue 11): generated ioctl sequences on
# the simulator (here) judged against the lane kernel (uapi-fuzz-exec in the guest,
# one per vCPU) for FUZZ_SECONDS, from FUZZ_SEED (a new one each run unless given;
# printed first). A disagreement or an unlisted kernel report fails it and prints the
# minimised case; out/vm-fuzz/findings.json replays with `run --cases`.
FUZZ_SECONDS ?= 60
FUZZ_SEED    ?= $(shell date +%s%N)
FUZZ_PROFILE ?= linux-7.2
FUZZ_BIN     ?= $(BIN)

fuzz-live: deps build kernel
	$(FUZZ_BIN) vm --timeout $$(( $(FUZZ_SECONDS) + 300 )) --out out/vm-fuzz \
		--kernel "$$(scripts/build-kernel.sh --kernel 7.2 --print-path)" -- \
		fuzz --backend sim+live --profile $(FUZZ_PROFILE) --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED) \
		--out out/vm-fuzz

# Every --sim-mutation that needs no TSM device, fuzzed against the 7.2 lane kernel from seed 2:
# each must be found within 10 s, its minimised cases failing on the mutant and passing on
# the kernel (one more boot). Results in out/vm-fuzz-mutations/.
fuzz-mutations: deps build kernel
	scripts/fuzz-mutations.sh --bin $(FUZZ_BIN) --kernel "$$(scripts/build-kernel.sh --kernel 7.2 --print-path)"

# The suite inside a virtme-ng session (vng --run, TCG) on the lane kernel:
# the catalogue live with the mock, vfio cases skipped (vng gives no vfio
# device). virtme-ng comes from PyPI into .deps/vng-venv. Results in out/vng/.
VNG_PROFILE   ?= $(if $(filter 7.2,$(KERNEL)),linux-7.2,linux-$(KERNEL))

live-vng: deps build kernel
	scripts/check-vng.sh --kernel "$$(scripts/build-kernel.sh --kernel $(KERNEL) --print-path)" \
		--profile $(VNG_PROFILE) --out out/vng$(if $(filter 7.2,$(KERNEL)),,-$(KERNEL))

# The other direction: a kernel built by `vng --build` (virtme-ng's defconfig
# + our fragment) booted by the lane, `vm --kernel`, the catalogue sim+live.
# Not in CI: a whole defconfig kernel, a second cold build. Results in out/vng-build/.
live-vng-build: deps build
	scripts/check-vng-build.sh --out out/vng-build

# The debug lane: the same run on a kernel with KASAN, lockdep and kmemleak
# (fixtures/kernel/debug.config); ~25 times slower under TCG. Results in out/vm-debug/.
DEBUG_TIMEOUT ?= 2400

kernel-debug:
	scripts/build-kernel.sh --debug

live-debug: deps build kernel-debug
	$(BIN) vm --timeout $(DEBUG_TIMEOUT) --kernel "$$(scripts/build-kernel.sh --debug --print-path)" --out out/vm-debug

# The patch lane: 7.2 + our TSM_OP base (fixtures/kernel/tsm-v5-prereq.patch)
# + the posted series TSM_SERIES, built incrementally on the lane's tree,
# probed and run live; then every planted bug of fixtures/kernel/bugs.json
# must be caught. KTAP in out/vm-tsm/stdout.
live-tsm: deps build
	@[ -n "$(TSM_SERIES)" ] || { echo "make live-tsm: pass TSM_SERIES=FILE, the posted TSM series (e.g. its v5 5/5 TSM_REQ patch)" >&2; exit 2; }
	TSM_SERIES="$(TSM_SERIES)" BIN=$(BIN) LIVE_TIMEOUT=$(LIVE_TIMEOUT) scripts/live-tsm.sh

# The kernel's own iommufd selftests, built from the lane's tree (cached
# outside the repo); prints their folder.
kselftest:
	scripts/build-kselftest.sh

# Those selftests on both kernels: on the host under `uapi-conform sim-exec`
# (the simulator as /dev/iommu) and in the lane's 7.2 guest; one table of the
# tests whose verdicts differ, each with its reason from fixtures/kselftest/
# (out/kselftest/). Fails on a difference without a reason.
# KSELFTEST_DIFF_ARGS=--sim-only reuses the last live.ktap (no VM).
kselftest-diff: deps build kernel
	BIN=$(BIN) SIM_TIMEOUT=$${SIM_TIMEOUT:-300} scripts/kselftest-diff.sh $(KSELFTEST_DIFF_ARGS)

# The coverage lane: 7.2 with gcov on iommufd/vfio, one boot running the
# catalogue live and then the selftests, a report of lines, branches and
# error-exit sites reached by each (out/coverage/index.html). TSM_SERIES=FILE
# adds the same on the TSM kernel (out/coverage/tsm/).
coverage: deps build
	TSM_SERIES="$(TSM_SERIES)" BIN=$(BIN) scripts/coverage.sh

clean:
	rm -rf .build CShims/tests/build
