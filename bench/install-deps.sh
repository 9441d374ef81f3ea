#!/usr/bin/env bash
# Installs, from Debian 12's apt archive, what bench/run-all needs beyond
# scripts/install-deps.sh (which builds and tests zkelect): the peers zkelect is
# measured against and the load tools (the list is scripts/install-deps.sh's
# --bench set). Idempotent. Not run by CI: the benchmarks are not tests.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../scripts/install-deps.sh" --bench
