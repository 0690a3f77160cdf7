"""`make prod` (`STREAMFN_ENVIRONMENT=production`): it refuses to start without HTTPS or with
development settings, and serves the API and the media over HTTPS."""

from __future__ import annotations

import uuid

from local.certificates import self_signed
from tests.e2e.dev import Dev


def test_production_refuses_to_start_without_https_or_with_development_settings(servers, tmp_path):
    assert "HTTPS" in Dev("e2e-production", STREAMFN_ENVIRONMENT="production").refused()
    cert, key = self_signed(tmp_path)
    weak = Dev("e2e-production", STREAMFN_ENVIRONMENT="production", STREAMFN_BCRYPT_ROUNDS="4",
               STREAMFN_TLS_CERTIFICATE_FILE=str(cert), STREAMFN_TLS_KEY_FILE=str(key))
    assert "STREAMFN_BCRYPT_ROUNDS" in weak.refused()


def test_production_serves_the_api_and_the_media_over_https_with_a_secure_refresh_cookie(servers, tmp_path):
    import json
    import ssl
    import threading
    import urllib.request

    cert, key = self_signed(tmp_path)
    production = Dev("e2e-production", STREAMFN_ENVIRONMENT="production", STREAMFN_PUBLIC_HOST="localhost",
                     STREAMFN_TLS_CERTIFICATE_FILE=str(cert), STREAMFN_TLS_KEY_FILE=str(key))
    production.start()
    try:
        base = f"https://localhost:{production.ports['API']}"
        context = ssl.create_default_context(cafile=str(cert))

        def call(method, path, body=None, token=None):
            authorization = {"Authorization": f"Bearer {token}"} if token else {}
            request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode()
                                             if body is not None else None,
                                             headers={"Content-Type": "application/json", **authorization})
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")

        name = f"p_{uuid.uuid4().hex[:8]}"
        status, headers, tokens = call("POST", "/api/auth/register",
                                       {"username": name, "email": f"{name}@example.com",
                                        "password": "correct horse battery"})
        assert status == 201
        cookie = headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert "max-age=31536000" in headers["Strict-Transport-Security"]
        # Players load HLS from the page's own HTTPS origin (no mixed content).
        assert f"HLS/DASH  {base}" in production.printed()
        stream_id = uuid.uuid4()
        playlist = production.home / "nginx" / "media" / "hls" / f"{stream_id}.m3u8"
        playlist.write_text("#EXTM3U\n")
        with urllib.request.urlopen(f"{base}/hls/{stream_id}.m3u8", context=context, timeout=10) as media:
            assert media.read() == b"#EXTM3U\n"
            assert media.headers["Content-Type"] == "application/vnd.apple.mpegurl"
        # A live media playlist: the player's blocking reload is held until the next segment.
        live = playlist.with_suffix("") / "publish1" / "source.m3u8"
        live.parent.mkdir(parents=True)
        segments = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
        live.write_text(segments + "#EXTINF:1.0,\nsource-0.ts\n")
        threading.Timer(0.5, lambda: live.write_text(
            segments + "#EXTINF:1.0,\nsource-0.ts\n#EXTINF:1.0,\nsource-1.ts\n")).start()
        with urllib.request.urlopen(f"{base}/hls/{stream_id}/publish1/source.m3u8?_HLS_msn=1",
                                    context=context, timeout=10) as media:
            body = media.read().decode()
            assert "CAN-BLOCK-RELOAD=YES" in body and "source-1.ts" in body, body
        _, _, key_answer = call("POST", "/api/streams/key", token=tokens["access_token"])
        assert key_answer["rtmp_url"] == f"rtmp://localhost:{production.ports['RTMP']}/live"
    finally:
        production.stop()
