# leadpath — a thin front over CMake + ctest.
#   make          build build/leadpath (release, with debug info)
#   make run      install what is missing, build, and serve the demo at 127.0.0.1:8080
#   make test     install what is missing, build, run the fuzz targets briefly, every test suite, then again under ASan+UBSan
#   make asan     build the sanitizer tree only (build-asan/)
#   make fuzz     build the libFuzzer targets (build-fuzz/) and run each FUZZ_SECONDS (default 600)
#   make screenshots  refresh docs/screenshots/ (the README's pictures) from the browser tests
#   make lint-api lint api/openapi.yaml (redocly; also part of make test)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps deps-test run test test-release test-asan asan clean bench fuzz screenshots lint-api

all: build/Makefile
	@$(MAKE) --no-print-directory -C build -j$(JOBS)

build/Makefile: CMakeLists.txt
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build-asan/Makefile: CMakeLists.txt
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLP_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

run: deps
	@$(MAKE) --no-print-directory all
	./build/leadpath serve --demo

asan: build-asan/Makefile
	@$(MAKE) --no-print-directory -C build-asan -j$(JOBS)

test: deps-test
	@$(MAKE) --no-print-directory all asan
	@scripts/lint-api.sh
	@echo "== fuzz targets ($(FUZZ_TEST_SECONDS) s each)"
	@scripts/fuzz.sh $(FUZZ_TEST_SECONDS)
	@scripts/test.sh build
	@scripts/test.sh build-asan

FUZZ_SECONDS ?= 600
FUZZ_TEST_SECONDS ?= 20
fuzz: deps-test
	@scripts/fuzz.sh $(FUZZ_SECONDS)

lint-api: deps-test
	@scripts/lint-api.sh

# Browser tests write their screenshots under build/screenshots; this run writes the README's.
screenshots: deps-test
	@$(MAKE) --no-print-directory all
	LEADPATH_SHOTS_DIR=docs/screenshots node --test --test-concurrency=1 tests/browser/screens.test.mjs tests/browser/ui.test.mjs tests/browser/conversations.test.mjs

clean:
	rm -rf build build-asan build-fuzz
