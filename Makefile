# gridmap — two commands: `make run` and `make test` (see README.md).
GO      ?= go
BIN     := bin/gridmap
ADDR    ?= 127.0.0.1:8080
DATA    ?= ./data

.PHONY: run test build web setup setup-test bench vet clean

## run: install PostGIS if missing, build, start on $(DATA) with the demo city at http://$(ADDR)
run: setup build
	./$(BIN) serve --demo --addr $(ADDR) --data-dir $(DATA)

## test: install what tests need if missing (PostGIS, GDAL, Chromium), then run every test
test: setup-test web
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	@if [ -f web/package.json ]; then cd web && npm test; fi

build: web
	$(GO) build -o $(BIN) ./cmd/gridmap

## web: build the map UI into web/dist (embedded in the binary)
web:
	@if [ -f web/package.json ]; then \
		cd web && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; \
	fi

setup:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

## bench: Go benchmarks and the load scripts under bench/ (numbers go into the issue notes)
bench: setup-test
	@scripts/setup.sh bench
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
	bench/foundation.sh 100
	bench/locate.sh 20s 32
	bench/coverage.sh 1 10
	bench/tiles-z10.sh
	bench/tiles-vs-pg_tileserv.sh

vet:
	$(GO) vet ./...

clean:
	rm -rf bin web/dist/assets web/dist/index.html
