"""The rtmp-ingest pod on one machine: nginx with the RTMP module, from the template in
rtmp_ingest/, and the callback sidecar, each its own process, supervised by the runtime.

nginx gets its own prefix, logs and temp paths under .local/<profile>/nginx and runs in
the foreground as a child. Run as root, its workers drop to `nobody`, which owns the
media directory they write HLS and DASH into.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from local.certificates import self_signed
from local.processes import Supervised, spawn
from local.services import ROOT, port_open, wait_for_port, wait_for_socket
from rtmp_ingest import playlists
from rtmp_ingest.ladder import DEFAULT_LADDER, ladder_text, parse_ladder
from rtmp_ingest.sidecar.config import render_nginx_conf, stat_token

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
TEMPLATE = ROOT / "rtmp_ingest" / "nginx.conf.template"
TRANSCODER = ROOT / "rtmp_ingest" / "transcode.py"
# nginx's workers (nobody, under root) start the transcoder: a Python they can run. It needs
# only the standard library.
TRANSCODE_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable


def abr_ladder() -> str:
    """STREAMFN_ABR_LADDER, checked; unset is the default ladder, empty is none."""
    return ladder_text(parse_ladder(os.environ.get("STREAMFN_ABR_LADDER", DEFAULT_LADDER)))


@dataclass
class IngestPorts:
    rtmp: int
    media: int
    stat: int
    sidecar: int
    rtmps: int = 1936
    bind: str = "127.0.0.1"  # where encoders reach RTMP(S); everything else stays on loopback

    @property
    def rtmp_upstream(self) -> str:
        """Where the RTMPS listener hands a stream on: the RTMP listener itself."""
        return f"{'127.0.0.1' if self.bind in ('0.0.0.0', '') else self.bind}:{self.rtmp}"


class Ingest:
    def __init__(self, home: Path, media_dir: Path, ports: IngestPorts, *, functions_url: str,
                 env: dict[str, str], update_seconds: int = 2,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.home, self.media_dir, self.ports = home, media_dir, ports
        self.functions_url, self.env, self.update_seconds = functions_url, env, update_seconds
        # RTMPS: the platform's TLS pair in production; a self-signed one made on first start.
        self.tls = tls

    @property
    def rtmp_url(self) -> str:
        return f"rtmp://127.0.0.1:{self.ports.rtmp}/live"

    @property
    def rtmps_url(self) -> str:
        return f"rtmps://127.0.0.1:{self.ports.rtmps}/live"

    @staticmethod
    def socket(home: Path) -> Path:
        """Where the live playlists server listens (nginx's workers, as nobody, connect)."""
        return home / "run" / "playlists.sock"

    @property
    def playlists_socket(self) -> Path:
        return self.socket(self.home)

    def _prepare(self) -> Path:
        run, logs = self.home / "run", self.home / "logs"
        written = [self.media_dir / name
                   for name in ("hls", "segments", "dash", "thumbnails", "recordings")]
        for path in (run, logs, *written, self.media_dir / "replays", self.media_dir / "clips"):
            path.mkdir(parents=True, exist_ok=True)
        transcode_log = logs / "transcode.log"
        transcode_log.touch()
        user = ""
        if os.geteuid() == 0:
            # nginx's workers (and the transcoders they start) write as nobody; the replays
            # and clips are the functions' to write.
            user = "user nobody nogroup;"
            for path in (run, self.media_dir, *written, transcode_log):
                shutil.chown(path, "nobody", "nogroup")
        certificate, key = self.tls or self_signed(self.home / "tls", host=self.ports.bind)
        conf = self.home / "nginx.conf"
        conf.write_text(render_nginx_conf(TEMPLATE.read_text(), {
            "USER_DIRECTIVE": user, "RUN_DIR": str(run), "LOG_DIR": str(logs),
            "RTMP_MODULE": RTMP_MODULE, "RTMP_LISTEN": f"{self.ports.bind}:{self.ports.rtmp}",
            "STREAM_MODULE": STREAM_MODULE, "RTMPS_LISTEN": f"{self.ports.bind}:{self.ports.rtmps}",
            "RTMPS_CERTIFICATE": str(certificate), "RTMPS_KEY": str(key),
            "RTMP_UPSTREAM": self.ports.rtmp_upstream, "ABR_LADDER": abr_ladder(),
            "TRANSCODE_PYTHON": TRANSCODE_PYTHON, "TRANSCODER": str(TRANSCODER),
            "SIDECAR_PORT": str(self.ports.sidecar), "UPDATE_SECONDS": str(self.update_seconds),
            "MEDIA_DIR": str(self.media_dir), "HTTP_LISTEN": f"127.0.0.1:{self.ports.media}",
            "STAT_PORT": str(self.ports.stat),
            **playlists.template_values(f"unix:{self.playlists_socket}"),
            "STAT_TOKEN": stat_token(self.env["STREAMFN_INGEST_SECRET"]),
        }))
        conf.chmod(0o600)  # it holds the stat page's token
        return conf

    def servers(self) -> list[Supervised]:
        """nginx-rtmp and the sidecar, for the runtime to start and keep running."""
        for port in (self.ports.rtmp, self.ports.rtmps, self.ports.media, self.ports.stat,
                     self.ports.sidecar):
            if port_open(port):
                raise RuntimeError(f"127.0.0.1:{port} is in use: is another nginx-rtmp running?")
        conf = self._prepare()
        logs = self.home / "logs"
        sidecar_env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT),
                       "SIDECAR_PORT": str(self.ports.sidecar), "FUNCTIONS_URL": self.functions_url,
                       "SHOW_RTMP_URL": f"rtmp://127.0.0.1:{self.ports.rtmp}/show",
                       "STAT_URL": f"http://127.0.0.1:{self.ports.stat}/stat",
                       "MEDIA_DIR": str(self.media_dir), "POD_NAME": "local-0",
                       # The ingest pod's own service-account token for the broker.
                       "STREAMFN_SENDER_TOKEN_FILE": str(Path(self.env["STREAMFN_SENDER_TOKEN_FILE"])
                                                         .with_name("rtmp-ingest"))}
        command = [sys.executable, "-m", "rtmp_ingest.sidecar"]
        sidecar = Supervised("ingest sidecar",
                             lambda: spawn(command, cwd=ROOT, env=sidecar_env,
                                           log_file=logs / "sidecar.log"))
        sidecar.ready = lambda: wait_for_port(self.ports.sidecar, what="the ingest sidecar",
                                              process=sidecar.process)
        nginx = Supervised("nginx-rtmp",
                           lambda: spawn(["nginx", "-p", str(self.home), "-c", str(conf),
                                          "-e", str(logs / "error.log")], log_file=logs / "nginx.out"),
                           stop_signal=signal.SIGQUIT)
        nginx.ready = lambda: wait_for_port(self.ports.rtmp, what="nginx-rtmp", process=nginx.process)
        served = self.playlists_socket
        server = Supervised("live playlists",
                            lambda: spawn([sys.executable, "-m", "rtmp_ingest.playlists",
                                           str(self.media_dir), f"unix:{served}"], cwd=ROOT,
                                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                                          log_file=logs / "playlists.log"))
        server.ready = lambda: wait_for_socket(served, what="the live playlists server",
                                               process=server.process)
        return [sidecar, server, nginx]
