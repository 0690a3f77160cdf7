"""The front door: nginx on the API and internal ports, its config rendered from the catalog.

Requests are routed by the same table the Emissary Mappings carry (local/routes.py): a
`map` from "METHOD path" to the function's upstream, literal paths first, and one from
the path to the methods it takes, for 405's Allow. Each function is an upstream of
keep-alive connections to the port the runtime holds for it (local/instances.py). nginx
closes an idle upstream connection before gunicorn would and well before the function
scales to zero, so no request is ever sent on a connection being closed.

Every error nginx makes itself is answered with the API's JSON error body: a malformed
request or header (400), an unknown route (404), a wrong method (405 with Allow), a body
over the limit (413, as soon as Content-Length says so), a long URI or header (414, 431),
and a function that failed or timed out (502, 503, 504). Client reads time out, request
bodies are buffered by nginx before a function sees them, and a response with
`X-Accel-Buffering: no` (Server-Sent Events) streams unbuffered.

The public port also serves the web app's files: hashed bundles cached for good, any other
path the app's index.html (its router takes it from there), revalidated on every load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from local import locations
from local.routes import RouteTable
from rtmp_ingest.playlists import nginx_upstream


@dataclass
class FrontDoorConfig:
    api_listen: str
    internal_listen: str
    upstreams: dict[str, int]
    public: RouteTable
    internal: RouteTable
    ingress: str
    home: Path
    site: Path | None = None
    max_body_bytes: int = 64 * 1024
    read_timeout_seconds: int = 120
    upstream_keepalive_seconds: int = 30
    user: str = ""
    tls: tuple[Path, Path] | None = None
    # The media volume, served on the API's own origin (with TLS, players need HTTPS).
    media: Path | None = None
    # The live playlists server's socket (rtmp_ingest/playlists.py), with the media.
    playlists: Path | None = None
    workers: str = "auto"
    # Routes answered with event streams (path regexes), and how many one client address
    # may hold open at once (0: no cap).
    streams: list[str] = field(default_factory=list)
    streams_per_address: int = 0
    # The metrics page local/metrics.py writes, served on the internal port only.
    metrics: Path | None = None


# W3C Trace Context (DESIGN.md §12): a valid `traceparent` from the caller is passed on; any
# other request starts a trace here, its id nginx's random $request_id (its first half the
# front door's own span). The access log is one JSON object a line with that trace id.
TRACING = [
    'map $request_id $streamfn_span { "~^(?<head>[0-9a-f]{16})" $head; }',
    "map $http_traceparent $streamfn_traceparent {",
    '    "~^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$" $http_traceparent;',
    "    default 00-$request_id-$streamfn_span-01;",
    "}",
    'map $streamfn_traceparent $streamfn_trace_id { "~^00-(?<id>[0-9a-f]{32})-" $id; }',
    # $request_time is seconds with milliseconds: 0.012 -> 12, 1.234 -> 1234.
    'map $request_time $streamfn_ms { "~^0\\.0*(?<ms>[0-9]+)$" $ms; '
    '"~^(?<s>[0-9]+)\\.(?<ms>[0-9]{3})$" $s$ms; default 0; }',
    "log_format streamfn_json escape=json '{\"time\":\"$time_iso8601\",\"level\":\"info\","
    "\"service\":\"front-door\",\"message\":\"$request_method $uri $status\","
    "\"trace_id\":\"$streamfn_trace_id\",\"method\":\"$request_method\",\"route\":\"$uri\","
    "\"status\":$status,\"duration_ms\":$streamfn_ms,\"bytes\":$body_bytes_sent,"
    "\"cache\":\"$upstream_cache_status\"}';",
]

def render(config: FrontDoorConfig) -> str:
    run, logs = config.home / "run", config.home / "logs"
    upstreams = []
    for name, port in sorted(config.upstreams.items()):
        upstreams += [f"upstream fn-{name} {{",
                      f"    server 127.0.0.1:{port} max_fails=0;",
                      "    keepalive 32;",
                      "    keepalive_requests 1000;",
                      f"    keepalive_timeout {config.upstream_keepalive_seconds}s;",
                      "}"]
    tls = []
    if config.tls:
        certificate, key = config.tls
        tls = [f"    ssl_certificate {certificate};", f"    ssl_certificate_key {key};",
               "    ssl_protocols TLSv1.2 TLSv1.3;", "    ssl_session_cache shared:tls:10m;",
               '    add_header Strict-Transport-Security "max-age=31536000" always;']
    api_listen = f"{config.api_listen}{' ssl' if config.tls else ''} default_server"
    lines = [
        "# Rendered by local/frontdoor.py from the function catalog. Do not edit.",
        config.user,
        f"worker_processes {config.workers};",
        "daemon off;",
        "pcre_jit on;",
        f"pid {run}/nginx.pid;",
        f"error_log {logs}/error.log warn;",
        "events { worker_connections 4096; }",
        "http {",
        "    server_tokens off;",
        *["    " + line for line in TRACING],
        f"    access_log {logs}/access.log streamfn_json buffer=64k flush=1s;",
        f"    client_body_temp_path {run}/client_body;",
        f"    proxy_temp_path {run}/proxy;",
        f"    fastcgi_temp_path {run}/fastcgi;",
        f"    uwsgi_temp_path {run}/uwsgi;",
        f"    scgi_temp_path {run}/scgi;",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        "    sendfile on;",
        "    charset_types application/json;",
        f"    client_max_body_size {config.max_body_bytes};",
        "    client_body_buffer_size 64k;",
        "    client_header_timeout 10s;",
        "    client_body_timeout 10s;",
        "    send_timeout 30s;",
        "    keepalive_timeout 65s;",
        "    large_client_header_buffers 4 8k;",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header traceparent $streamfn_traceparent;",
        "    proxy_connect_timeout 5s;",
        f"    proxy_read_timeout {config.read_timeout_seconds}s;",
        f"    proxy_send_timeout {config.read_timeout_seconds}s;",
        "    proxy_next_upstream error;",
        "    proxy_buffer_size 16k;",
        "    proxy_buffers 8 16k;",
        "    proxy_busy_buffers_size 32k;",
        # Public answers a function marks `Cache-Control: public, max-age=N` (the stream
        # directory, shared_lib/http/answers.py) are kept that long for anonymous callers;
        # a request with a token always reaches the function (an owner sees their own edit).
        f"    proxy_cache_path {run}/api-cache levels=1:2 keys_zone=api:8m max_size=64m inactive=30s "
        "use_temp_path=off;",
        "    limit_conn_zone $binary_remote_addr zone=streams:10m;",
        "    limit_conn_status 429;",
        "    limit_conn_log_level warn;",
        *["    " + line for line in upstreams],
        *([f"    {nginx_upstream(f'unix:{config.playlists}')}"]
          if config.media and config.playlists else []),
        f"    upstream broker-ingress {{ server {config.ingress} max_fails=0; keepalive 16; }}",
        *["    " + line for line in locations.maps("public", config.public)],
        *["    " + line for line in locations.maps("internal", config.internal)],
        "    server {",
        f"        listen {api_listen};",
        *["    " + line for line in tls],
        *["    " + line for line in locations.error_pages("public")],
        "        location /api/ {", *["    " + line for line in locations.cache(bool(config.tls))],
        *["    " + line for line in locations.route("public")], "        }",
        *["    " + line for line in locations.streams(config.streams, config.streams_per_address)],
        "        location /internal/ { return 404; }",
        *(["    " + line for line in locations.media(config.media, bool(config.playlists))]
          if config.media else []),
        *(["    " + line for line in locations.static(config.site)] if config.site else
          ["        location / { return 404; }"]),
        "    }",
        "    server {",
        f"        listen {config.internal_listen} default_server;",
        *["    " + line for line in locations.error_pages("internal")],
        *([f"        location = /metrics {{ alias {config.metrics}; "
           'default_type "text/plain; version=0.0.4"; }'] if config.metrics else []),
        "        location = / {", "    " + locations.ASCII_ONLY, "            proxy_pass http://broker-ingress;",
        "        }",
        "        location / {", *["    " + line for line in locations.route("internal")], "        }",
        "    }",
        "}",
    ]
    return "\n".join(line for line in lines if line is not None) + "\n"

