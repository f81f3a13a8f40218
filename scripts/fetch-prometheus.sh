#!/usr/bin/env bash
# Fetch the Prometheus server and promtool for the backfill tests, without installing anything system-wide:
# `apt-get download` the Debian package and unpack it with `dpkg-deb -x` (no maintainer scripts run, no
# daemon starts) into .aigrid/tools/prometheus/. Idempotent: does nothing when the binaries are there.
#
#   scripts/fetch-prometheus.sh            # then: .aigrid/tools/prometheus/usr/bin/{prometheus,promtool}
#
# Needs a Debian/Ubuntu apt source with the `prometheus` package (bookworm ships 2.42.0).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${root}/.aigrid/tools/prometheus"
bin="${dest}/usr/bin"

if [[ -x "${bin}/prometheus" && -x "${bin}/promtool" ]]; then
    echo "prometheus already in ${bin}: $("${bin}/prometheus" --version 2>&1 | head -n 1)"
    exit 0
fi

for tool in apt-get dpkg-deb; do
    command -v "${tool}" >/dev/null || { echo "error: ${tool} not found (Debian/Ubuntu needed)" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
# apt-get download writes into the current directory; _apt cannot write to a private mktemp dir, which
# only costs a warning ("download is performed unsandboxed").
# Try the machine's own package lists first; a fresh machine (CI) may have none, so fall back to fetching
# lists into a private directory (no root needed, the system's apt state is left alone).
if ! (cd "${work}" && apt-get download prometheus 2>/dev/null); then
    lists="${root}/.aigrid/tools/apt-lists"
    mkdir -p "${lists}/partial"
    opts=(-o "Dir::State::Lists=${lists}" -o "Debug::NoLocking=1")
    apt-get "${opts[@]}" update -qq
    (cd "${work}" && apt-get "${opts[@]}" download prometheus)
fi
deb="$(ls "${work}"/prometheus_*.deb)"
mkdir -p "${dest}.partial"
dpkg-deb -x "${deb}" "${dest}.partial"
rm -rf "${dest}"
mv "${dest}.partial" "${dest}"
echo "unpacked $(basename "${deb}") into ${dest}: $("${bin}/prometheus" --version 2>&1 | head -n 1)"
