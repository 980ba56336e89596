# Two commands do all the set-up on a fresh Debian/Ubuntu machine:
#   make test   installs missing system packages (as root), then runs every test
#   make demo   installs them too, then runs the main job on a local sandbox
GO ?= go
PKGS := mariadb-server mariadb-backup mariadb-client haproxy nginx

# MySQL 9.7 unpacked from Debian sid (scripts/mysql-from-debian.sh) for the
# MySQL tests, fetched once, only for make test; when it cannot be fetched
# they skip, loudly (and fail under CI).
ifneq ($(filter test,$(MAKECMDGOALS)),)
export DBSHIFT_MYSQLD := $(shell scripts/mysql-from-debian.sh --for-tests)
endif

.PHONY: all build test fuzz demo deps vet bench clean

# Fuzz targets, PACKAGE:TARGET. `make test` runs each for FUZZTIME_TEST after
# the unit tests (a smoke run on top of the seed corpus); `make fuzz` for
# FUZZTIME each (scripts/fuzz.sh says where a failing input lands).
FUZZ_TARGETS := \
	./internal/querylog:FuzzGeneralLog \
	./internal/querylog:FuzzSlowLog \
	./internal/querylog:FuzzClassify \
	./internal/compat:FuzzScanSQL \
	./internal/compat:FuzzAnalyzer \
	./internal/spec:FuzzParse \
	./internal/querylog:FuzzRedactSecrets \
	./internal/dbconn:FuzzRedact \
	./internal/replication:FuzzParseFilePos
FUZZTIME ?= 2m
FUZZTIME_TEST ?= 3s

all: build

build:
	$(GO) build -o bin/dbshift ./cmd/dbshift

deps:
	@scripts/ensure-deps.sh $(PKGS)

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: deps vet
	$(GO) test -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_TEST)

fuzz:
	@GO=$(GO) scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

demo: deps build
	scripts/demo.sh

bench: deps build
	scripts/bench.sh

clean:
	rm -rf bin
