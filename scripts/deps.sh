#!/bin/sh
# scripts/deps.sh [run|test]: make sure the Debian packages Floe needs are
# installed.  As root it installs what is missing with apt-get; otherwise it
# prints the exact apt-get command to run and fails.  Quick when nothing is
# missing.  `make run` uses "run", `make test` uses "test" (which adds the
# tools the integration tests drive: curl, python3 with PyYAML, pgrep).
set -eu

BUILD="gcc make pkg-config libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
libssl-dev libyaml-dev libpq-dev libavro-dev zlib1g-dev postgresql"
TEST="curl python3 python3-yaml procps openssl"

want=$BUILD
[ "${1:-run}" = test ] && want="$BUILD $TEST"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; make sure these are installed: $want" >&2
    exit 0
fi

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
    exit 0
fi
echo "deps: missing packages:$missing" >&2
echo "deps: install them with:  sudo apt-get install$missing" >&2
exit 1
