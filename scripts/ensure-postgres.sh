#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist for the integration tests
# (the tests start their own throwaway cluster on 127.0.0.1).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-postgres: PostgreSQL server binaries missing and not root; postgres tests will skip" >&2
  exit 0
fi
echo "ensure-postgres: installing PostgreSQL server binaries" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
