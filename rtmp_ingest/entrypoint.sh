#!/bin/sh
# The rtmp-ingest pod's three containers start here: `entrypoint.sh nginx`, `entrypoint.sh sidecar`
# or `entrypoint.sh playlists`.
# Everything comes from the environment the Deployment gives (see knative/rtmp-ingest.yaml).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
MEDIA_DIR=${MEDIA_DIR:-/var/lib/streamfn/media}
NGINX_HOME=${NGINX_HOME:-/tmp/nginx}

case "${1:-}" in
  nginx)
    mkdir -p "$NGINX_HOME/run" "$NGINX_HOME/logs" "$MEDIA_DIR/hls" "$MEDIA_DIR/segments" "$MEDIA_DIR/dash" "$MEDIA_DIR/thumbnails" "$MEDIA_DIR/recordings" "$MEDIA_DIR/replays" "$MEDIA_DIR/clips"
    export RUN_DIR="$NGINX_HOME/run" LOG_DIR="$NGINX_HOME/logs" MEDIA_DIR
    export USER_DIRECTIVE="${USER_DIRECTIVE:-}"
    export RTMP_MODULE="${RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}"
    export STREAM_MODULE="${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}"
    export RTMP_LISTEN="${RTMP_LISTEN:-1935}" HTTP_LISTEN="${HTTP_LISTEN:-8081}"
    # RTMPS: the pair comes from the Secret streamfn-rtmps-tls (knative/rtmp-ingest.yaml).
    export RTMPS_LISTEN="${RTMPS_LISTEN:-1936}" RTMP_UPSTREAM="${RTMP_UPSTREAM:-127.0.0.1:1935}"
    export RTMPS_CERTIFICATE="${RTMPS_CERTIFICATE:-/etc/streamfn/rtmps/tls.crt}"
    export RTMPS_KEY="${RTMPS_KEY:-/etc/streamfn/rtmps/tls.key}"
    export SIDECAR_PORT="${SIDECAR_PORT:-8084}" STAT_PORT="${STAT_PORT:-8083}"
    export UPDATE_SECONDS="${UPDATE_SECONDS:-2}"
    # The live playlists server (the `playlists` container, in the same pod's network).
    export PLAYLISTS_UPSTREAM="${PLAYLISTS_UPSTREAM:-127.0.0.1:8085}"
    # Each publish's ABR transcoder (rtmp_ingest/transcode.py: standard library only). The
    # ladder is STREAMFN_ABR_LADDER (unset: the default; empty: none), checked by `render`.
    export TRANSCODE_PYTHON="${TRANSCODE_PYTHON:-/usr/bin/python3}" TRANSCODER="$HERE/transcode.py"
    PYTHONPATH="${PYTHONPATH:-$(dirname "$HERE")}" \
      "$PYTHON" -m rtmp_ingest.sidecar render "$HERE/nginx.conf.template" "$NGINX_HOME/nginx.conf"
    exec nginx -p "$NGINX_HOME" -c "$NGINX_HOME/nginx.conf" -e "$NGINX_HOME/logs/error.log"
    ;;
  sidecar)
    export PYTHONPATH="${PYTHONPATH:-$(dirname "$HERE")}"
    exec "$PYTHON" -m rtmp_ingest.sidecar
    ;;
  playlists)
    # Players' blocking playlist reloads (rtmp_ingest/playlists.py); nginx sends them here.
    export PYTHONPATH="${PYTHONPATH:-$(dirname "$HERE")}"
    exec "$PYTHON" -m rtmp_ingest.playlists "$MEDIA_DIR" "${PLAYLISTS_LISTEN:-0.0.0.0:8085}"
    ;;
  *)
    echo "usage: entrypoint.sh nginx|sidecar|playlists" >&2
    exit 2
    ;;
esac
