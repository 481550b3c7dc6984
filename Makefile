# Targets behind the README's commands (./make.sh run, ./make.sh test).
# Every target installs what is missing first.
PRESET ?= default
BUILD_DIR = $(if $(filter default,$(PRESET)),build,build-$(PRESET))

.PHONY: run test build setup clean

run: build
	./$(BUILD_DIR)/enchufe serve all

test: build
	ctest --preset $(PRESET)

build: setup
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)

setup:
	@./scripts/setup.sh

clean:
	rm -rf build build-*
