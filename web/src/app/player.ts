// An HLS player: hls.js where the browser has Media Source Extensions, the <video>
// element itself where it plays HLS natively (Safari). hls.js is loaded with the first
// player, so the home page does not wait for it.
//
// A live stream comes as a ladder of renditions (the source and smaller ones): hls.js picks
// one by the viewer's bandwidth and switches as it changes (Auto), or the viewer picks one
// from the quality menu, which also says what is playing now.
//
// A live playlist appears a second or two after the stream goes live in the API (the first
// segment has to be written), and a network blip can fail a load: the player keeps trying,
// with a growing pause, instead of leaving a black box behind.
import { Component, ElementRef, OnDestroy, effect, input, output, signal, viewChild } from '@angular/core';
import type Hls from 'hls.js';
import type { ErrorData, LoaderConfig } from 'hls.js';

interface Quality {
  index: number;
  label: string;
}

/** The menu's entries, best first: `720p`, `480p`…, the top one marked as the source. */
function qualities(levels: { height: number; bitrate: number }[]): Quality[] {
  const found = levels
    .map((level, index) => ({ index, height: level.height, bitrate: level.bitrate }))
    .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
  return found.map((level, i) => ({
    index: level.index,
    label: `${level.height ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kb/s`}${i === 0 ? ' (source)' : ''}`,
  }));
}

const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 8_000;

/** Playlist loads: retried quickly, since a new live stream's playlist 404s for a moment. */
const PLAYLIST_LOADS: LoaderConfig = {
  maxTimeToFirstByteMs: 10_000,
  maxLoadTimeMs: 20_000,
  timeoutRetry: { maxNumRetry: 4, retryDelayMs: 500, maxRetryDelayMs: 4_000 },
  errorRetry: { maxNumRetry: 8, retryDelayMs: 500, maxRetryDelayMs: 4_000 },
};

/**
 * Live: how close to the live edge to play. The transcoder writes 1-second segments, each the
 * moment the next keyframe arrives, and hls.js finds a new one on its next playlist reload
 * (every second); it aims LIVE_SYNC_SECONDS behind the edge it extrapolates from there, and
 * speeds up a little (at most LIVE_CATCH_UP) to get back after a slow start. Farther behind
 * than LIVE_MAX_SECONDS (a tab in the background), the player jumps ahead.
 */
const LIVE_SYNC_SECONDS = 1.2;
const LIVE_MAX_SECONDS = 5;
const LIVE_CATCH_UP = 1.1;
/** What a stall adds to the target (hls.js's default is a whole second). */
const LIVE_STALL_BACKOFF_SECONDS = 0.5;
/**
 * hls.js's own catch-up runs only with more than a second buffered, which 1-second segments
 * rarely leave: a player that started late, or whose target grew with a stall at start, stayed
 * late for the whole stream (bench/latency.py: 1.6 s glass to glass in one viewer, 2.5 s in the
 * next, on the same publish). EdgeKeeper does it instead, by what is safe: it plays LIVE_CATCH_UP
 * times faster while behind the target and while the buffer's low point over the last
 * TROUGH_WINDOW_MS (just before each new segment lands) stayed above TROUGH_MARGIN: what it
 * shaves off comes out of the margin a stall would need. Beyond CATCH_UP_RANGE behind, the
 * viewer has seeked back on purpose and is left there.
 *
 * A stall while playback starts (the first segments racing the first frames) is not the
 * network's, but hls.js would keep what it added to the target for it as long as the stream
 * lasts: after STARTUP_SECONDS of playback the target goes back to LIVE_SYNC_SECONDS, once; a
 * later stall raises it for good.
 */
const STARTUP_SECONDS = 3;
const TROUGH_WINDOW_MS = 4_000;
const TROUGH_MARGIN = 0.5;
const CATCH_UP_ABOVE = 0.1;
const CATCH_UP_RANGE = 3;
const LIVE = {
  lowLatencyMode: true,
  liveSyncOnStallIncrease: LIVE_STALL_BACKOFF_SECONDS,
  liveSyncDuration: LIVE_SYNC_SECONDS,
  liveMaxLatencyDuration: LIVE_MAX_SECONDS,
  maxLiveSyncPlaybackRate: 1, // EdgeKeeper sets the rate; hls.js would set it back to 1
};

/** Seconds of video buffered past the playhead. */
function bufferedAhead(video: HTMLVideoElement): number {
  const ranges = video.buffered;
  for (let i = 0; i < ranges.length; i++) {
    if (ranges.start(i) <= video.currentTime + 0.1 && video.currentTime < ranges.end(i)) {
      return ranges.end(i) - video.currentTime;
    }
  }
  return 0;
}

/** Keeps a live player near its target latency (above); `update` on each time update. */
class EdgeKeeper {
  private samples: [number, number][] = []; // (when, seconds buffered ahead)
  private startedAt = 0;
  private forgiven = false;

  constructor(private readonly hls: Hls, private readonly video: HTMLVideoElement) {}

  readonly update = (): void => {
    const { hls, video } = this;
    const now = performance.now();
    this.startedAt ||= video.paused ? 0 : now;
    if (!this.forgiven && this.startedAt && now - this.startedAt > STARTUP_SECONDS * 1000) {
      this.forgiven = true;
      if ((hls.targetLatency ?? 0) > LIVE_SYNC_SECONDS) {
        hls.targetLatency = LIVE_SYNC_SECONDS; // the setter forgets the stalls counted so far
      }
    }
    this.samples.push([now, bufferedAhead(video)]);
    while (this.samples[0][0] < now - TROUGH_WINDOW_MS) {
      this.samples.shift();
    }
    const target = hls.targetLatency;
    const behind = target === null ? 0 : hls.latency - target;
    const trough = Math.min(...this.samples.map(([, ahead]) => ahead));
    const full = now - this.samples[0][0] > TROUGH_WINDOW_MS * 0.9;
    const rate = !video.paused && full && trough > TROUGH_MARGIN
      && behind > CATCH_UP_ABOVE && behind < CATCH_UP_RANGE ? LIVE_CATCH_UP : 1;
    if (video.playbackRate !== rate) {
      video.playbackRate = rate;
    }
  };

  /** A seek or a stall starts the window again. */
  readonly restart = (): void => {
    this.samples = [];
  };
}

@Component({
  selector: 'app-player',
  template: `
    <video #video controls autoplay muted playsinline data-test="player"
           (timeupdate)="time.emit(video.currentTime)" (seeked)="time.emit(video.currentTime)"></video>
    @if (status()) { <div class="muted" data-test="player-status">{{ status() }}</div> }
    @if (qualities().length > 1) {
      <label class="quality muted">Quality
        <select data-test="quality" [value]="chosen()" (change)="choose($any($event.target).value)">
          <option value="-1">Auto{{ chosen() === -1 && playing() ? ' (' + playing() + ')' : '' }}</option>
          @for (q of qualities(); track q.index) { <option [value]="q.index">{{ q.label }}</option> }
        </select>
      </label>
    }
  `,
  styles: `video { width: 100%; aspect-ratio: 16 / 9; background: #000; border-radius: 6px; display: block; }
    .quality { display: inline-flex; gap: 0.4rem; align-items: center; margin-top: 0.4rem; }`,
})
export class Player implements OnDestroy {
  readonly src = input.required<string>();
  readonly live = input(true);
  /** The playhead, in seconds from the start, as it moves (a replay's chat follows it). */
  readonly time = output<number>();
  protected readonly status = signal('');
  /** The renditions, best first; `chosen` is the viewer's pick (-1: Auto). */
  protected readonly qualities = signal<Quality[]>([]);
  protected readonly chosen = signal(-1);
  protected readonly playing = signal('');
  private readonly video = viewChild.required<ElementRef<HTMLVideoElement>>('video');
  private hls: Hls | null = null;
  private retry?: ReturnType<typeof setTimeout>;
  private retryMs = RETRY_FIRST_MS;
  private unwatch = (): void => undefined;
  private destroyed = false;

  constructor() {
    effect(() => {
      this.retryMs = RETRY_FIRST_MS;
      void this.load(this.src());
    });
  }

  private async load(src: string): Promise<void> {
    const video = this.video().nativeElement;
    this.stop();
    const { default: Hls } = await import('hls.js');
    if (this.destroyed || src !== this.src()) {
      return; // the page moved on while hls.js loaded
    }
    if (Hls.isSupported()) {
      const hls = new Hls({
        ...(this.live() ? LIVE : {}),
        manifestLoadPolicy: { default: PLAYLIST_LOADS },
        playlistLoadPolicy: { default: PLAYLIST_LOADS },
      });
      hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
        this.qualities.set(qualities(data.levels));
        hls.currentLevel = this.chosen();
        this.status.set('');
        this.retryMs = RETRY_FIRST_MS;
        void video.play().catch(() => undefined);
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
        const height = hls.levels[data.level]?.height;
        this.playing.set(height ? `${height}p` : '');
      });
      hls.on(Hls.Events.ERROR, (_event, data) => this.failed(hls, data, src, Hls.ErrorTypes.MEDIA_ERROR));
      if (this.live()) {
        const keeper = new EdgeKeeper(hls, video);
        video.addEventListener('timeupdate', keeper.update);
        video.addEventListener('waiting', keeper.restart);
        video.addEventListener('seeking', keeper.restart);
        this.unwatch = () => {
          video.removeEventListener('timeupdate', keeper.update);
          video.removeEventListener('waiting', keeper.restart);
          video.removeEventListener('seeking', keeper.restart);
          video.playbackRate = 1;
        };
      }
      hls.loadSource(src);
      hls.attachMedia(video);
      this.hls = hls;
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src;
    } else {
      this.status.set('This browser cannot play HLS video.');
    }
  }

  /** The viewer picks a rendition (-1: Auto): switched at once, kept across reloads. */
  protected choose(value: string): void {
    this.chosen.set(Number(value));
    if (this.hls) {
      this.hls.currentLevel = this.chosen();
    }
  }

  private failed(hls: Hls, data: ErrorData, src: string, mediaError: string): void {
    if (!data.fatal) {
      return;
    }
    if (data.type === mediaError) {
      hls.recoverMediaError();
      return;
    }
    this.status.set(this.live() ? 'Waiting for the stream…' : 'The video could not be loaded; trying again…');
    this.retry = setTimeout(() => void this.load(src), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private stop(): void {
    clearTimeout(this.retry);
    this.unwatch();
    this.hls?.destroy();
    this.hls = null;
  }

  ngOnDestroy(): void {
    this.destroyed = true;
    this.stop();
  }
}
