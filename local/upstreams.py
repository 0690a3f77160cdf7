"""Where the gateway and the broker find a function: in this process, or in its own.

`InProcess` builds each function's app with functions-framework's own `create_app`, so
requests take the same path as in a pod, without a process per function. `Processes`
starts each function as `functions-framework --source ... --target ...`, as a Knative
pod would, and proxies to it over HTTP.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from pathlib import Path

from local.services import ROOT, port_open, terminate, wait_for_port
from shared_lib.catalog import FunctionSpec

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class InProcess:
    def __init__(self) -> None:
        self._apps: dict[str, object] = {}
        self._lock = threading.Lock()

    def app(self, spec: FunctionSpec):
        with self._lock:
            if spec.name not in self._apps:
                import functions_framework

                self._apps[spec.name] = functions_framework.create_app(
                    spec.target, str(ROOT / spec.source)
                )
            return self._apps[spec.name]

    def send(self, spec: FunctionSpec):
        def send(headers: dict[str, str], body: bytes):
            from werkzeug.test import Client

            response = Client(self.app(spec)).post("/", headers=headers, data=body)
            return response.status_code, dict(response.headers), response.get_data()

        return send

    def close(self) -> None:
        pass


def http_send(port: int, path: str = "/", timeout: float = 30.0):
    """POST a binary-mode event to a function listening on `port`."""

    def send(headers: dict[str, str], body: bytes):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    return send


def proxy(port: int, timeout: float = 60.0):
    """A WSGI app forwarding every request to 127.0.0.1:port."""

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].lower().replace("_", "-") not in HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        target = environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request(environ["REQUEST_METHOD"], target, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except OSError:
            payload = b'{"error":{"code":"unavailable","message":"The function is not answering.","details":[]}}'
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(payload)))])
            return [payload]
        finally:
            connection.close()
        out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        start_response(f"{response.status} {response.reason}", out)
        return [payload]

    return app


def _bindable(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_ports(start: int, count: int) -> list[int]:
    """`count` ports from `start` upward that nothing holds now, skipping busy ones."""
    ports, port = [], start
    while len(ports) < count:
        if _bindable(port) and not port_open(port):
            ports.append(port)
        port += 1
    return ports


class Processes:
    """One functions-framework process per function, on consecutive ports from `base_port`."""

    def __init__(self, specs: list[FunctionSpec], *, base_port: int, env: dict[str, str],
                 log_dir: Path) -> None:
        self.ports = dict(zip((spec.name for spec in specs), _free_ports(base_port, len(specs))))
        self._specs = specs
        self._env = env
        self._log_dir = log_dir
        self._children: list[subprocess.Popen] = []

    def start(self) -> None:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self._specs:
            port = self.ports[spec.name]
            log = open(self._log_dir / f"{spec.name}.log", "ab")
            self._children.append(subprocess.Popen(
                [sys.executable, "-m", "functions_framework", "--source", spec.source,
                 "--target", spec.target, "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env={**os.environ, **self._env, "PYTHONPATH": str(ROOT),
                     "K_SERVICE": spec.name, "WORKERS": "1",
                     "THREADS": str(spec.scaling.concurrency)},
                stdout=log,
                stderr=subprocess.STDOUT,
            ))
        for spec in self._specs:
            wait_for_port(self.ports[spec.name], timeout=60, what=spec.name)

    def app(self, spec: FunctionSpec):
        return proxy(self.ports[spec.name])

    def send(self, spec: FunctionSpec):
        return http_send(self.ports[spec.name])

    def close(self) -> None:
        terminate(self._children)
