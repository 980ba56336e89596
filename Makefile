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

.PHONY: all build test demo deps vet bench clean

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

demo: deps build
	scripts/demo.sh

bench: deps build
	scripts/bench.sh

clean:
	rm -rf bin
