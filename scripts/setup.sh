#!/usr/bin/env bash
# Installs what building fazt needs beyond the Rust toolchain: CMake and the
# SIMDe headers, for fazt-js's QuickJS backend (deno_core builds QuickJS-ng
# and WAMR from source). Debian/Ubuntu; does nothing when both are present.
set -euo pipefail
if command -v cmake >/dev/null 2>&1 && [ -d /usr/include/simde ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq cmake libsimde-dev
