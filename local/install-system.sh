#!/usr/bin/env bash
# Installs the system packages streamfn needs, and only those that are missing.
# Debian/Ubuntu (apt). Runs as root, or through sudo when it is available.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
have redis-server || missing+=(redis-server)
have nginx || missing+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=(libnginx-mod-rtmp)
# RTMPS: nginx's stream module ends TLS in front of RTMP.
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
{ have ffmpeg && have ffprobe; } || missing+=(ffmpeg)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
{ have runuser && have setpriv; } || missing+=(util-linux)
# The browser tests drive Debian's Chromium through its ChromeDriver.
have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)
# The benchmarks load the front door with wrk.
have wrk || missing+=(wrk)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  have sudo || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start system-wide services; streamfn runs its own private instances.
for service in postgresql redis-server nginx; do
  $SUDO service "$service" stop >/dev/null 2>&1 || true
done
