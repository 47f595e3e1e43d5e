#!/usr/bin/env bash
# Make sure INDI's server and simulators exist for the integration tests
# (tests/integration/test_indi_backend.py starts its own indiserver on 127.0.0.1).
# Debian's indi-bin ships indiserver and indi_simulator_{telescope,ccd,weather,...}.
set -euo pipefail
if command -v indiserver >/dev/null 2>&1 && command -v indi_simulator_ccd >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-indi: indiserver missing and not root; INDI tests will skip (fail if CI is set)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-indi: indiserver missing and no apt-get; install INDI (indi-bin) by hand" >&2
  exit 0
fi
echo "ensure-indi: installing indi-bin" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq indi-bin >/dev/null
