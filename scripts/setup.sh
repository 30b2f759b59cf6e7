#!/usr/bin/env bash
# Installs what gridmap needs on Debian/Ubuntu when it is missing. Idempotent and quiet when
# everything is present. Usage: scripts/setup.sh [run|test|bench]
#   run   PostgreSQL server binaries + PostGIS (what `make run` needs)
#   test  run + GDAL (interoperability tests) + Chromium and a CJK font (UI tests) + PyQGIS
#   bench test + wrk (loopback load generator)
set -euo pipefail
what=${1:-run}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

pkgs=()

pgbindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bindir=$(pgbindir || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  pkgs+=(postgresql)
  pgver=""
else
  pgver=$(basename "$(dirname "$bindir")")
  # PostGIS must match the server's major version.
  if ! ls /usr/share/postgresql/"$pgver"/extension/postgis.control >/dev/null 2>&1; then
    pkgs+=("postgresql-$pgver-postgis-3")
  fi
fi

if [ "$what" = test ] || [ "$what" = bench ]; then
  command -v ogrinfo >/dev/null 2>&1 || pkgs+=(gdal-bin)
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
  # A CJK font, so the UI tests' screenshots and the map's labels (drawn from local fonts) show
  # Chinese names rather than empty boxes.
  { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || pkgs+=(fonts-wqy-microhei)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
  # QGIS's Python bindings, for the test that has QGIS draw the city from /style.json and the
  # OGC collections (cmd/gridmap/qgis_test.go): 195 MB to download, 930 MB installed.
  /usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 || pkgs+=(python3-qgis)
  # a second reader of the report's XLSX besides excelize (report/report_test.go)
  /usr/bin/python3 -c 'import openpyxl' >/dev/null 2>&1 || pkgs+=(python3-openpyxl)
fi
if [ "$what" = bench ]; then
  command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
  command -v curl >/dev/null 2>&1 || pkgs+=(curl) # bench/tiles-*.sh
fi

install() {
  echo "setup: installing $*" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ ${#pkgs[@]} -gt 0 ]; then
  install "${pkgs[@]}"
fi

# A fresh `postgresql` install brings its own version: make sure PostGIS matches it.
if [ -z "$pgver" ]; then
  bindir=$(pgbindir)
  pgver=$(basename "$(dirname "$bindir")")
  if ! ls /usr/share/postgresql/"$pgver"/extension/postgis.control >/dev/null 2>&1; then
    install "postgresql-$pgver-postgis-3"
  fi
fi
