"""The front door's nginx blocks, one function each: the routing maps, the JSON error pages,
a function's route, the API's cache, the web app's files, the media volume and the event
streams' per-address cap. local/frontdoor.py puts them together."""

from __future__ import annotations

import json
import re
from pathlib import Path

from local.routes import RouteTable
from rtmp_ingest.playlists import nginx_location

ERRORS = {
    400: ("invalid_request", "The request is malformed."),
    404: ("not_found", "No such route."),
    405: ("method_not_allowed", "That method is not allowed here."),
    408: ("request_timeout", "The request took too long to arrive."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The request URI is too long."),
    429: ("too_many_streams", "Too many open event streams from this address."),
    431: ("headers_too_large", "The request headers are too large."),
    500: ("internal", "The request failed."),
    502: ("unavailable", "The function did not answer. Try again shortly."),
    503: ("unavailable", "A service this request needs is unavailable. Try again shortly."),
    504: ("timeout", "The function did not answer in time."),
}
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                    "X-Frame-Options": "DENY"}
STATIC_METHODS = "GET, HEAD"



def error_body(status: int) -> str:
    code, message = ERRORS[status]
    return json.dumps({"error": {"code": code, "message": message, "details": []}})


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nginx_regex(regex: str) -> str:
    """A catalog path regex for nginx's PCRE, without named groups (they would become
    variables)."""
    return re.sub(r"\(\?P<\w+>", "(", regex)


def maps(prefix: str, table: RouteTable) -> list[str]:
    """`$<prefix>_function`: the upstream for "METHOD path", "=405" for a known path with
    another method, empty otherwise; `$<prefix>_allowed`: the methods a path takes. nginx
    tries a map's regexes in order, so literal paths come first (the table's order)."""
    methods = table.allowed()
    return [
        f'map "$request_method $uri" ${prefix}_function {{',
        '    default "";',
        *[f'    "~^{route.method} {nginx_regex(route.regex)[1:]}" "fn-{route.function}";'
          for route in table.routes],
        *[f'    "~^[A-Z]+ {nginx_regex(regex)[1:]}" "=405";' for regex in methods],
        "}",
        f"map $uri ${prefix}_allowed {{",
        f'    default "{STATIC_METHODS if prefix == "public" else ""}";',
        *[f'    "~{nginx_regex(regex)}" "{", ".join(allowed)}";' for regex, allowed in methods.items()],
        '    "~^/(api|internal)/" "";',
        "}",
    ]


def error_pages(prefix: str) -> list[str]:
    """Every error nginx makes, as the API's JSON error body. A URI, not a named location,
    for all but 405: errors in the request line leave no URI to redirect a name from. 405
    is raised by the routing below, after parsing, and needs the request's own $uri for
    its Allow header."""
    lines = []
    for status in ERRORS:
        source = "494" if status == 431 else str(status)
        target = f"@{prefix}_e405" if status == 405 else f"/.errors/{status}"
        lines.append(f"    error_page {source} ={status} {target};")
    for status in ERRORS:
        where = f"@{prefix}_e405" if status == 405 else f"= /.errors/{status}"
        lines += [f"    location {where} {{",
                  *(["        internal;"] if status != 405 else []),
                  "        default_type application/json;",
                  "        add_header Cache-Control no-store always;"]
        if status == 405:
            lines.append(f"        add_header Allow ${prefix}_allowed always;")
        lines += [f"        return {status} {_quote(error_body(status))};", "    }"]
    return lines


# A request target must be ASCII (RFC 3986: anything else is percent-encoded, as browsers
# do). gunicorn answers a raw non-ASCII byte with an HTML 400; nginx answers it as JSON.
# Checked in each location, not the server: there it would also refuse the redirect to
# the error page itself.
ASCII_ONLY = '        if ($request_uri ~ "[^!-~]") { return 400; }'


def route(prefix: str) -> list[str]:
    return [
        ASCII_ONLY,
        f'        if (${prefix}_function = "=405") {{ return 405; }}',
        f'        if (${prefix}_function = "") {{ return 404; }}',
        f"        proxy_pass http://${prefix}_function;",
    ]


def cache(tls: bool) -> list[str]:
    # A location's add_header replaces the server's: HSTS is said again here.
    hsts = ['        add_header Strict-Transport-Security "max-age=31536000" always;'] if tls else []
    return [*hsts, "        add_header X-Cache-Status $upstream_cache_status always;",
            "        proxy_cache api;", "        proxy_cache_key $request_uri;",
            "        proxy_cache_bypass $http_authorization;", "        proxy_no_cache $http_authorization;",
            # One request refreshes an expired answer; the others wait for it.
            "        proxy_cache_lock on;", "        proxy_cache_lock_timeout 2s;"]


def static(site: Path) -> list[str]:
    security = [f'        add_header {name} "{value}" always;' for name, value in SECURITY_HEADERS.items()]
    methods = [ASCII_ONLY, '        if ($request_method !~ ^(GET|HEAD)$) { return 405; }']
    return [
        f"    root {site};",
        "    location / {", *methods, "        try_files $uri /index.html;",
        '        add_header Cache-Control "no-cache" always;', *security, "    }",
        # Bundles named by their content's hash never change: cache them for good.
        r'    location ~ "^/[^/]+-[A-Za-z0-9]{6,}\.[a-z0-9]+$" {', *methods,
        "        try_files $uri /index.html;",
        '        add_header Cache-Control "public, max-age=31536000, immutable" always;',
        *security, "    }",
        "    location = /index.html {", *methods,
        '        add_header Cache-Control "no-cache" always;', *security, "    }",
    ]


MEDIA = {  # path: (content types, Cache-Control), as the ingest pod serves them
    "hls": ("application/vnd.apple.mpegurl m3u8; video/mp2t ts;", "no-cache"),
    "dash": ("application/dash+xml mpd; video/mp4 mp4 m4v m4a;", "no-cache"),
    "replays": ("application/vnd.apple.mpegurl m3u8; video/mp2t ts; image/jpeg jpg;", "max-age=300"),
    "thumbnails": ("image/jpeg jpg;", "max-age=10"),
    "clips": ("video/mp4 mp4; image/jpeg jpg;", "max-age=300"),
}


def media(media: Path, playlists: bool = False) -> list[str]:
    """The media volume's files; with `playlists`, live media playlists from the playlists
    server (its upstream, rtmp_ingest/playlists.py), which holds a player's blocking reload."""
    checks = [ASCII_ONLY, '        if ($request_method !~ ^(GET|HEAD)$) { return 405; }']
    lines = nginx_location(checks) if playlists else []
    for name, (types, cache) in MEDIA.items():
        lines += [f"    location /{name}/ {{", *checks, f"        types {{ {types} }}",
                  f"        alias {media}/{name}/;",
                  f'        add_header Cache-Control "{cache}" always;',
                  "        add_header Access-Control-Allow-Origin * always;", "    }"]
    return lines


def streams(regexes: list[str], per_address: int) -> list[str]:
    """Event-stream routes: routed as any other, but one address holds at most
    `per_address` open (beyond: 429), so nobody can take every stream slot."""
    if not regexes or not per_address:
        return []
    lines = []
    for regex in regexes:
        lines += [f'    location ~ "{nginx_regex(regex)}" {{',
                  f"        limit_conn streams {per_address};",
                  *route("public"), "    }"]
    return lines
