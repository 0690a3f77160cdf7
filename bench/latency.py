"""Glass-to-glass latency as a viewer sees it, and what the ABR ladder costs the ingest tier.

The publisher is ffmpeg encoding frames this process draws (1280x720, 30 fps, a keyframe every
second and only then: x264's scene-cut detection is off, as a fixed keyframe interval asks;
with it on, every flip below was a keyframe of its own and segments ran 1.0, 1.0, 0.7 s):
black, then white, flipping every FLIP_SECONDS at wall-clock times it notes as it hands each
frame over (the "glass" a camera would be). The viewer is headless Chromium on the web app's
stream page, with the shipped player (hls.js, the settings of web/src/app/player.ts): the page
draws the video into a small canvas on every presented frame (requestVideoFrameCallback) and
notes when the picture turns bright or dark. Latency is that moment minus the flip's. Median
and p90 over every flip of a RUN_SECONDS run, for the source rendition and for the lowest one
(picked in the player's quality menu), with the stalls (`waiting` after playback began) counted
over it.

Then the ladder's cost: the CPU the ingest tier (nginx, the transcoder and its ffmpeg) uses
over CPU_SECONDS of a moving 720p test pattern, with the default ladder and without one
(STREAMFN_ABR_LADDER=""), each on its own platform, in the same run. The latency of the
source without a ladder is the baseline the latencies are compared with.

    BENCH_LATENCY_SECONDS (default 60), BENCH_CPU_SECONDS (default 30)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

from harness import BENCH_PROFILE, cpu_seconds, tree  # (harness puts the repository on sys.path)

from tests.e2e.conftest import free_port, http, register_user
from tests.e2e.media import publish, stop, wait_until

RUN_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", 60))
CPU_SECONDS = float(os.environ.get("BENCH_CPU_SECONDS", 30))
# Not a multiple of the keyframe interval: the flips fall anywhere in a segment, as what a
# viewer watches for does (a flip on a keyframe waits out its whole segment, the worst case).
# The same direction recurs every 5.4 s: a latency under that is unambiguous.
FLIP_SECONDS = 2.7
WIDTH, HEIGHT, FPS = 1280, 720, 30
SETTLE_SECONDS = 8  # after the player starts, before flips count

WATCH = """
const video = document.querySelector('video');
window.__flips = []; window.__stalls = 0; window.__playing = false;
video.addEventListener('waiting', () => { if (window.__playing) window.__stalls += 1; });
video.addEventListener('playing', () => { window.__playing = true; });
const canvas = document.createElement('canvas');
canvas.width = 8; canvas.height = 8;
const context = canvas.getContext('2d', { willReadFrequently: true });
let last = null;
function frame() {
  context.drawImage(video, 0, 0, 8, 8);
  const pixels = context.getImageData(0, 0, 8, 8).data;
  let sum = 0;
  for (let i = 0; i < pixels.length; i += 4) sum += pixels[i];
  const bright = sum / (pixels.length / 4) > 128;
  if (last !== null && bright !== last) {
    const b = video.buffered;
    window.__flips.push([Date.now() / 1000, bright, b.length ? b.end(b.length - 1) - video.currentTime : 0]);
  }
  last = bright;
  video.requestVideoFrameCallback(frame);
}
video.requestVideoFrameCallback(frame);
window.__samples = [];
setInterval(() => {
  const b = video.buffered;
  window.__samples.push([b.length ? b.end(b.length - 1) - video.currentTime : 0, video.playbackRate]);
}, 250);
"""


class Publisher:
    """ffmpeg fed raw frames in real time; `flips` holds (wall time, bright) of each change."""

    def __init__(self, url: str) -> None:
        self.flips: list[tuple[float, bool]] = []
        self.process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error",
             "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
             "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(FPS),
             "-keyint_min", str(FPS), "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-b:v", "3000k",
             "-c:a", "aac", "-b:a", "96k", "-f", "flv", url],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running = True
        threading.Thread(target=self._draw, daemon=True).start()

    def _draw(self) -> None:
        black, white = bytes(WIDTH * HEIGHT), bytes([235]) * (WIDTH * HEIGHT)
        began, shown, frame = time.time(), None, 0
        while self.running:
            due = began + frame / FPS
            time.sleep(max(0.0, due - time.time()))
            bright = int((time.time() - began) / FLIP_SECONDS) % 2 == 1
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(white if bright else black)
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            if shown is not None and bright != shown:
                self.flips.append((time.time(), bright))
            shown, frame = bright, frame + 1

    def stop(self) -> None:
        self.running = False
        time.sleep(0.1)
        if self.process.stdin:
            self.process.stdin.close()
        stop(self.process)


def latencies(published: list[tuple[float, bool]], seen: list[tuple[float, bool]]) -> list[float]:
    """For each change the viewer saw: how long after the publisher made it."""
    found = []
    for at, bright in seen:
        made = [t for t, b in published if b == bright and t <= at]
        if made and at - made[-1] < 2 * FLIP_SECONDS:
            found.append(at - made[-1])
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def platform_with(ladder: str | None):
    from local.platform import Platform
    from local.settings import Ports
    from local.web import build

    if ladder is None:
        os.environ.pop("STREAMFN_ABR_LADDER", None)
    else:
        os.environ["STREAMFN_ABR_LADDER"] = ladder
    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=free_port())
    platform = Platform(BENCH_PROFILE, ports, schedule=False, environment="development",
                        site=build())
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
        platform.stop_servers()


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='latency-')}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def go_live(api: str, media: str = "black") -> tuple[str, object]:
    name, tokens = register_user(api, "lat")
    key = http("POST", f"{api}/api/streams/key", token=tokens["access_token"]).json()
    url = f"{key['rtmp_url']}/{key['stream_key']}"
    publisher = Publisher(url) if media == "black" else publish(url, size=f"{WIDTH}x{HEIGHT}")

    def live():
        items = http("GET", f"{api}/api/users/{name}/streams?limit=1").json()["items"]
        return items[0] if items and items[0]["status"] == "live" else None

    stream = wait_until(live, timeout=30, interval=0.1)
    assert stream, "the publish goes live"
    return stream["id"], publisher


def watch(api: str, stream_id: str, publisher: Publisher, rendition: str) -> dict:
    """Latency and stalls of one rendition ('source' or 'lowest') over RUN_SECONDS."""
    driver = browser()
    try:
        driver.get(f"{api}/streams/{stream_id}")
        wait_until(lambda: driver.execute_script(
            "const v = document.querySelector('video'); return v && v.readyState >= 2"), timeout=30)
        time.sleep(1)  # the menu shows once the master playlist is parsed
        picked = driver.execute_script(
            "const s = document.querySelector('[data-test=quality]');"
            "if (!s) return null;"
            "const options = [...s.options];"
            f"const o = '{rendition}' === 'source' ? options.find(o => o.text.includes('source'))"
            "  : options[options.length - 1];"
            "s.value = o.value; s.dispatchEvent(new Event('change')); return o.text;")
        time.sleep(SETTLE_SECONDS)
        driver.execute_script(WATCH)
        began = time.time()
        time.sleep(RUN_SECONDS)
        seen = driver.execute_script("return window.__flips")
        samples = driver.execute_script("return window.__samples")
        stalls = driver.execute_script("return window.__stalls")
        height = driver.execute_script("return document.querySelector('video').videoHeight")
    finally:
        driver.quit()
    measured = latencies([f for f in publisher.flips if f[0] >= began - 2 * FLIP_SECONDS],
                         [(t, b) for t, b, _ in seen])
    return {"rendition": picked or "only one", "height": height, "flips": len(measured),
            "median": statistics.median(measured) if measured else float("nan"),
            "p90": percentile(measured, 0.9) if measured else float("nan"), "stalls": stalls,
            "ahead": statistics.median([a for a, _ in samples]) if samples else float("nan"),
            "low": percentile([a for a, _ in samples], 0.05) if samples else float("nan"),
            "faster": sum(rate > 1 for _, rate in samples) / max(len(samples), 1),
            "segments": segment_durations(api, stream_id, rendition)}


def segment_durations(api: str, stream_id: str, rendition: str) -> str:
    """The media playlist's target duration and its last segments' durations, as served."""
    import re

    master = http("GET", f"{api}/api/streams/{stream_id}").json()["playback"]["hls"]
    master = master if master.startswith("http") else api + master
    playlist = http("GET", master).body.decode()
    uris = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    if "#EXT-X-STREAM-INF" in playlist:  # a master playlist: the source first, the lowest last
        uri = uris[0] if rendition == "source" else uris[-1]
        playlist = http("GET", master.rsplit("/", 1)[0] + "/" + uri).body.decode()
    target = re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist)
    durations = re.findall(r"#EXTINF:([\d.]+)", playlist)[-6:]
    return f"target {target.group(1) if target else '?'}; last {', '.join(durations)}"


def ingest_cpu(platform, api: str) -> float:
    """Cores the ingest tier uses for one moving 720p publish (nginx and what it runs)."""
    nginx = platform.servers["nginx-rtmp"].process.pid
    _, encoder = go_live(api, media="pattern")
    try:
        time.sleep(8)  # the transcoder has probed and started
        before = cpu_seconds(tree(nginx))
        began = time.monotonic()
        time.sleep(CPU_SECONDS)
        after = cpu_seconds(tree(nginx))
        elapsed = time.monotonic() - began
    finally:
        stop(encoder)
    return sum(used - before.get(pid, 0.0) for pid, used in after.items()) / elapsed


def main() -> None:
    results = {}
    with platform_with(None) as platform:
        api = platform.api_url
        stream_id, publisher = go_live(api)
        try:
            results["source"] = watch(api, stream_id, publisher, "source")
            results["lowest"] = watch(api, stream_id, publisher, "lowest")
        finally:
            publisher.stop()
        ladder_cpu = ingest_cpu(platform, api)
    with platform_with("") as platform:
        api = platform.api_url
        stream_id, publisher = go_live(api)
        try:
            results["no ladder"] = watch(api, stream_id, publisher, "source")
        finally:
            publisher.stop()
        plain_cpu = ingest_cpu(platform, api)

    baseline = results["no ladder"]["median"]
    print(f"glass-to-glass latency, headless Chromium with the shipped player, {WIDTH}x{HEIGHT} "
          f"{FPS} fps, 1 s keyframes, loopback; {RUN_SECONDS:.0f} s each")
    print(f"{'rendition':<22}{'height':>7}{'flips':>7}{'median':>9}{'p90':>8}{'stalls':>8}"
          f"{'vs no ladder':>14}  target")
    targets = {"source": 2.0, "lowest": 2.5, "no ladder": 2.0}
    for label, row in results.items():
        print(f"{label + ' (' + row['rendition'] + ')':<22}{row['height']:>7}{row['flips']:>7}"
              f"{row['median']:>8.2f}s{row['p90']:>7.2f}s{row['stalls']:>8}"
              f"{row['median'] / baseline:>13.2f}x  <= {targets[label]} s, no stall")
    print("how each player kept up: the buffer ahead of playback (median, 5th percentile), the "
          "share of time it played faster than 1x, the playlist's segments")
    for label, row in results.items():
        print(f"  {label:<12} ahead {row['ahead']:.2f} s (low {row['low']:.2f} s), faster "
              f"{row['faster']:.0%}; {row['segments']}")
    print(f"ingest CPU for one moving 720p publish over {CPU_SECONDS:.0f} s: "
          f"{ladder_cpu:.2f} cores with the default ladder (480p, 360p), "
          f"{plain_cpu:.2f} without: {ladder_cpu / max(plain_cpu, 1e-6):.1f}x")


if __name__ == "__main__":
    sys.exit(main())
