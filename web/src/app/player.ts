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
 * speeds up a little (at most LIVE_CATCH_UP) to get back after a slow start. Measured with
 * bench/latency.py: 1.5 s gives about 2.1 s glass to glass without a stall (hls.js's two
 * segments, 2.3 s); 1.3 s stalled on the source. Farther behind than LIVE_MAX_SECONDS (a tab
 * in the background), the player jumps ahead.
 */
const LIVE_SYNC_SECONDS = 1.5;
const LIVE_MAX_SECONDS = 5;
const LIVE_CATCH_UP = 1.1;
/** What a stall adds to the target (hls.js's default is a whole second). */
const LIVE_STALL_BACKOFF_SECONDS = 0.5;
const LIVE = {
  lowLatencyMode: true,
  liveSyncOnStallIncrease: LIVE_STALL_BACKOFF_SECONDS,
  liveSyncDuration: LIVE_SYNC_SECONDS,
  liveMaxLatencyDuration: LIVE_MAX_SECONDS,
  maxLiveSyncPlaybackRate: LIVE_CATCH_UP,
};

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
    this.hls?.destroy();
    this.hls = null;
  }

  ngOnDestroy(): void {
    this.destroyed = true;
    this.stop();
  }
}
