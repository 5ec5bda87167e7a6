#!/usr/bin/env bash
# README command (1): install what is missing, build, and run the main job `sparoa demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p build
scripts/build.sh build >/dev/null
exec build/bin/sparoa demo "$@"
