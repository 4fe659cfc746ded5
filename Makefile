# uapi-conform: `make` fetches the headers, builds, and runs the main job;
# `make check` runs every test (Swift tests and the C shim's cmocka tests).
SWIFT        ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
BUILD_FLAGS  ?=
HEADERS      ?= .deps/linux-libc-dev/usr/include
BIN           = .build/debug/uapi-conform

.PHONY: all deps build main check test-swift test-cshims bench clean

all: main

deps: $(HEADERS)/linux/iommufd.h

$(HEADERS)/linux/iommufd.h:
	scripts/fetch-debian-sid.sh linux-libc-dev .deps/linux-libc-dev usr/include/linux/iommufd.h

build:
	$(SWIFT) build $(BUILD_FLAGS)

main: deps build
	$(BIN) abi --headers $(HEADERS) --arch all

check: deps build test-cshims test-swift

test-swift:
	$(SWIFT) test $(BUILD_FLAGS)

# Absolute, so a HEADERS given on the command line still holds inside CShims/.
test-cshims:
	$(MAKE) -C CShims test HEADERS=$(abspath $(HEADERS))

bench: deps build
	scripts/bench.sh

clean:
	rm -rf .build CShims/tests/build
