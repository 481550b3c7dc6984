# Targets behind the README's commands (./make.sh run, ./make.sh test).
# Every target installs what is missing first.
#
#   run          build, then serve greet, echo, udp-echo and chat on their ports
#   test         every check CI runs: test-default, test-asan, test-tsan, fuzz
#   test-default the suite on the normal build
#   test-asan    the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   test-tsan    the suite under ThreadSanitizer
#   fuzz         every libFuzzer target for FUZZ_SECONDS (default 30) each
#   mutants      plant each bug in tests/mutants/ in a scratch copy (build-mutants/)
#                and check a test catches it; MUTANTS=name,regex for a subset.
#                Slow: not part of `test` (tests/README.md)

.PHONY: run test test-default test-asan test-tsan fuzz mutants setup clean build-%

run: build-default
	./build/enchufe serve all

test: test-default test-asan test-tsan fuzz
	@echo "all checks passed"

test-default: build-default
	ctest --preset default

# A sanitizer run passes only with zero reports: every process (the servers
# the tests start included) writes its reports under LOGS, checked at the end.
test-asan test-tsan: test-%: build-%
	@rm -rf build-$*/sanitizer-logs && mkdir -p build-$*/sanitizer-logs
	ENCHUFE_SANITIZER_LOGS=$(CURDIR)/build-$*/sanitizer-logs ctest --preset $*
	@if [ -n "$$(ls -A build-$*/sanitizer-logs)" ]; then \
	  echo "$* reported problems:" >&2; cat build-$*/sanitizer-logs/* >&2; exit 1; \
	else echo "$*: no sanitizer reports"; fi

fuzz: build-fuzz
	./scripts/fuzz.sh

mutants: setup
	python3 scripts/mutants.py --only '$(MUTANTS)'

build-%: setup
	cmake --preset $* >/dev/null
	cmake --build --preset $*

setup:
	@./scripts/setup.sh

clean:
	rm -rf build build-*
