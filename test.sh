#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine (nats-server,
# mosquitto, openssl, Node packages) when it is missing, then runs every test with Maven.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

need_apt=()
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || need_apt+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)   # the TLS tests make their certificates with it
if ((${#need_apt[@]})); then
  echo "test.sh: installing ${need_apt[*]} with apt-get" >&2
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
# mosquitto's package starts a system broker on 1883; the tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1; then
  systemctl stop mosquitto >/dev/null 2>&1 || true
fi

js_dir="$here/integration-tests/js"
if [[ -f "$js_dir/package.json" ]] && [[ ! -d "$js_dir/node_modules" ]]; then
  echo "test.sh: installing Node packages for the nats.js tests" >&2
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

mvn -B verify -Dleafgate.it.requireExternal=true "$@"

# The Debian package in a fresh bookworm root (install, run, upgrade, purge): about 4 minutes. It
# needs root and the Debian mirror; LEAFGATE_PACKAGE_TEST=0 leaves it out.
if [[ "${LEAFGATE_PACKAGE_TEST:-1}" == 0 ]]; then
  echo "test.sh: package test left out (LEAFGATE_PACKAGE_TEST=0)" >&2
elif [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: package test SKIPPED: it needs root (run armhf-image/test-package.sh as root)" >&2
elif ! curl -fsI --max-time 20 "${MIRROR:-http://deb.debian.org/debian}/dists/bookworm/Release" >/dev/null 2>&1 \
    && ! wget -q --spider --timeout=20 "${MIRROR:-http://deb.debian.org/debian}/dists/bookworm/Release" 2>/dev/null; then
  echo "test.sh: package test SKIPPED: the Debian mirror ${MIRROR:-http://deb.debian.org/debian} cannot be reached" >&2
else
  "$here/armhf-image/test-package.sh"
fi
