"""Each Containerfile's entry point, run here outside a container with the environment its
manifest gives it (secrets, file paths, addresses and ports swapped for this machine's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import yaml

from local.certificates import self_signed
from local.services import ROOT, wait_for_port
from tests import factories
from tests.e2e.conftest import free_port, http, register_user
from tests.e2e.media import answers_blocking_reloads, probe, publish, stop, wait_until


def manifest(path: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]


def entrypoint(containerfile: str) -> list[str]:
    for line in (ROOT / containerfile).read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            return json.loads(line[len("ENTRYPOINT "):])
    raise AssertionError("no ENTRYPOINT")


def container_env(container: dict) -> dict[str, str]:
    """The plain env and the ConfigMap values a container gets (Secrets come from the caller)."""
    config = manifest("knative/config.yaml")[0]["data"]
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config)
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def local_secrets(platform) -> dict[str, str]:
    """The Secrets, and the files a pod would have mounted (keys, the issuer's JWKS, the
    projected sender token), as this machine has them."""
    keep = ("STREAMFN_DATABASE_URL", "STREAMFN_REDIS_URL", "STREAMFN_INGEST_SECRET",
            "STREAMFN_JWT_PUBLIC_KEYS_FILE", "STREAMFN_OIDC_ISSUER", "STREAMFN_OIDC_JWKS_FILE",
            "STREAMFN_SENDER_TOKEN_FILE")
    return {name: platform.env[name] for name in keep}


@pytest.fixture
def function_process(platform):
    started = []

    def start(name: str) -> int:
        [service] = manifest(f"knative/functions/{name}.yaml")
        container = service["spec"]["template"]["spec"]["containers"][0]
        env = {**container_env(container), **local_secrets(platform), "HOST": "127.0.0.1",
               "PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
        if "STREAMFN_JWT_PRIVATE_KEY_FILE" in env:
            env["STREAMFN_JWT_PRIVATE_KEY_FILE"] = platform.env["STREAMFN_JWT_PRIVATE_KEY_FILE"]
        command = entrypoint("Containerfile")
        binary = shutil.which(command[0], path=str(ROOT / ".venv" / "bin"))
        process = subprocess.Popen([binary, *command[1:]], cwd=ROOT, env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        wait_for_port(int(env["PORT"]), timeout=30, what=name)
        return int(env["PORT"])

    yield start
    for process in started:
        stop(process)


def test_the_function_image_serves_an_http_function_in_production_settings(function_process):
    port = function_process("login")
    base = f"http://127.0.0.1:{port}"
    assert http("GET", f"{base}/healthz").status == 200
    wrong = http("POST", f"{base}/api/auth/login",
                 json_body={"username": "nobody_here", "password": "not the password"})
    assert wrong.status == 401 and wrong.json()["error"]["code"] == "invalid_credentials"


def test_the_function_image_serves_event_and_scheduled_functions(function_process):
    for name in ("on-stream-started", "reap-stale-streams"):
        port = function_process(name)
        kind = "dev.streamfn.stream.started" if name == "on-stream-started" else "dev.knative.sources.ping"
        from tests.functions_client import sender_token

        headers, _ = factories.cloudevent(kind, source="/test")
        unsigned = http("POST", f"http://127.0.0.1:{port}/", data=b'{"stream_id": "x"}', headers=headers)
        assert unsigned.status == 401
        answer = http("POST", f"http://127.0.0.1:{port}/", data=b'{"stream_id": "x"}',
                      headers={**headers, "Authorization": f"Bearer {sender_token(name)}"})
        assert answer.status == 202 and answer.body == b""


def test_the_rtmp_ingest_image_serves_publish_over_rtmps_and_playback(platform):
    _, deployment, _, _ = manifest("knative/rtmp-ingest.yaml")
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    home = ROOT / ".local" / "test" / "entrypoint" / uuid.uuid4().hex[:8]
    writable = [home / "media" / sub for sub in ("hls", "segments", "dash", "thumbnails", "recordings")]
    writable.append(home / "nginx" / "run")
    for path in writable:
        path.mkdir(parents=True)
        if os.geteuid() == 0:  # nginx's workers drop to nobody, as the image runs unprivileged
            shutil.chown(path, "nobody", "nogroup")
    ports = {"rtmp": free_port(), "rtmps": free_port(), "media": free_port(), "stat": free_port(),
             "sidecar": free_port(), "playlists": free_port()}
    certificate, key_file = self_signed(home / "tls", host="127.0.0.1")  # the Secret's pair
    here = {"MEDIA_DIR": str(home / "media"), "NGINX_HOME": str(home / "nginx"),
            "SIDECAR_PORT": str(ports["sidecar"]), "STAT_PORT": str(ports["stat"]),
            # A pod's probes need the pod's address; a test listens on loopback only.
            "SIDECAR_HOST": "127.0.0.1",
            "PYTHON": str(ROOT / ".venv" / "bin" / "python")}
    nginx_env = {**container_env(containers["nginx"]), **here,
                 "RTMP_LISTEN": f"127.0.0.1:{ports['rtmp']}",
                 "RTMPS_LISTEN": f"127.0.0.1:{ports['rtmps']}",
                 "RTMP_UPSTREAM": f"127.0.0.1:{ports['rtmp']}",
                 "RTMPS_CERTIFICATE": str(certificate), "RTMPS_KEY": str(key_file),
                 "HTTP_LISTEN": f"127.0.0.1:{ports['media']}",
                 "PLAYLISTS_UPSTREAM": f"127.0.0.1:{ports['playlists']}"}
    playlists_env = {**container_env(containers["playlists"]), **here,
                     "PLAYLISTS_LISTEN": f"127.0.0.1:{ports['playlists']}"}
    sidecar_env = {**container_env(containers["sidecar"]), **here, **local_secrets(platform),
                   "AUTHORIZE_URL": f"{platform.internal_url}/internal/ingest/authorize",
                   "REPORT_URL": f"{platform.internal_url}/internal/ingest/report",
                   "STAT_URL": f"http://127.0.0.1:{ports['stat']}/stat",
                   "SHOW_RTMP_URL": f"rtmp://127.0.0.1:{ports['rtmp']}/show",
                   "K_SINK": platform.env["K_SINK"], "POD_NAME": "rtmp-ingest-test"}
    command = entrypoint("rtmp_ingest/Containerfile")[0].replace("/app/", f"{ROOT}/")
    processes = [
        subprocess.Popen([command, "sidecar"], env={**os.environ, **sidecar_env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([command, "nginx"], env={**os.environ, **nginx_env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([command, "playlists"], env={**os.environ, **playlists_env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_for_port(ports["sidecar"], what="sidecar")
        wait_for_port(ports["rtmp"], what="nginx")
        wait_for_port(ports["playlists"], what="playlists")
        name, tokens = register_user(platform.api_url, "ct")
        key = http("POST", f"{platform.api_url}/api/streams/key", token=tokens["access_token"]).json()
        # Over RTMPS: through the image's TLS listener to its RTMP one.
        encoder = publish(f"rtmps://127.0.0.1:{ports['rtmps']}/live/{key['stream_key']}")
        try:
            def live_id():
                items = http("GET", f"{platform.api_url}/api/users/{name}/streams").json()["items"]
                return items[0]["id"] if items and items[0]["status"] == "live" else None

            stream_id = wait_until(live_id, timeout=20)
            assert stream_id
            hls = f"http://127.0.0.1:{ports['media']}/hls/{stream_id}.m3u8"
            assert wait_until(lambda: probe(hls) == ["aac", "h264"], timeout=20, interval=0.5)
            source = next(line for line in http("GET", hls).body.decode().splitlines()
                          if line.endswith(".m3u8"))
            answers_blocking_reloads(f"http://127.0.0.1:{ports['media']}/hls/{source}")
        finally:
            stop(encoder)
    finally:
        for process in processes:
            stop(process)
        time.sleep(0.2)
        shutil.rmtree(home, ignore_errors=True)


def test_the_web_image_serves_the_app_its_deep_links_and_no_api_paths(tmp_path):
    """web/Containerfile's nginx, with its own config, over the app as `make dev` builds it:
    listen address, document root and scratch paths swapped for this machine's."""
    from local.web import build

    site = build()
    port = free_port()
    config = (ROOT / "web" / "nginx.conf").read_text()
    command = entrypoint("web/Containerfile")
    assert command[:3] == ["nginx", "-c", "/etc/streamfn/web-nginx.conf"]
    config = (config.replace("/tmp/", f"{tmp_path}/").replace("/srv/web", str(site))
              .replace("listen 8080;", f"listen 127.0.0.1:{port};"))
    (tmp_path / "nginx.conf").write_text(config)
    process = subprocess.Popen(["nginx", "-e", "stderr", "-p", str(tmp_path), "-c",
                                str(tmp_path / "nginx.conf"), *command[3:]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, what="web nginx")
        base = f"http://127.0.0.1:{port}"
        assert http("GET", f"{base}/healthz").status == 200
        home = http("GET", f"{base}/")
        assert home.status == 200 and b"<app-root>" in home.body
        assert home.headers["Cache-Control"] == "no-cache"
        deep = http("GET", f"{base}/channel/someone")  # a reload on a page of the app
        assert deep.status == 200 and deep.body == home.body
        [bundle] = [p.name for p in site.glob("main-*.js")]
        assert bundle in home.body.decode()
        script = http("GET", f"{base}/{bundle}")
        assert script.status == 200 and "immutable" in script.headers["Cache-Control"]
        assert script.headers["Content-Type"] == "application/javascript"
        missing = http("GET", f"{base}/api/no-such-route")
        assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
    finally:
        stop(process)
