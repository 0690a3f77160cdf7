import { DatePipe, DecimalPipe, I18nPluralPipe } from '@angular/common';
import { Component, OnDestroy, OnInit, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import {
  Api, ApiError, Category, ChannelAnalytics, Stream, StreamAnalytics, StreamKey,
} from '../api/client';
import { CATEGORIES } from '../categories';
import { FOLLOWERS, STREAMS, VIEWS } from '../plural';
import { Session } from '../session';
import { Point, ViewerChart } from './viewer-chart';

const POLL_MS = 3_000;
const HISTORY = 10;

@Component({
  selector: 'app-dashboard-page',
  imports: [DatePipe, DecimalPipe, FormsModule, I18nPluralPipe, RouterLink, ViewerChart],
  template: `
    <main>
      <h1>Creator dashboard</h1>
      <div class="grid" style="grid-template-columns: repeat(auto-fill, minmax(340px, 1fr))">
        <section class="panel">
          <h2 style="margin-top: 0">Stream key</h2>
          <p class="muted">Paste the server URL and the key into OBS (Settings → Stream → Custom).
            Getting a new key stops the old one at once.</p>
          @if (key(); as k) {
            <label>Server</label><code class="secret" data-test="rtmp-url">{{ k.rtmp_url }}</code>
            <label>Server over TLS (RTMPS: the same key; OBS takes either)</label>
            <code class="secret" data-test="rtmps-url">{{ k.rtmps_url }}</code>
            <label>Stream key (shown this once; keep it secret)</label>
            <code class="secret" data-test="stream-key">{{ k.stream_key }}</code>
          }
          <div class="row" style="margin-top: 12px">
            <button (click)="rotate()" data-test="rotate-key">{{ key() ? 'Get another key' : 'Get a stream key' }}</button>
          </div>
          <label class="row" style="margin-top: 16px">
            <input type="checkbox" style="width: auto" [ngModel]="session.me()?.recording_enabled"
                   (ngModelChange)="setRecording($event)" data-test="recording" />
            Record my broadcasts as replays
          </label>
        </section>

        <section class="panel">
          <h2 style="margin-top: 0">{{ current()?.status === 'live' ? 'Live now' : 'Next stream' }}</h2>
          <form (ngSubmit)="save()" data-test="stream-form">
            <label for="title">Title</label>
            <input id="title" name="title" [(ngModel)]="title" required maxlength="140" />
            @if (fields()['title']) { <div class="field-error">{{ fields()['title'] }}</div> }
            <label for="category">Category</label>
            <select id="category" name="category" [(ngModel)]="category">
              <option [ngValue]="null">None</option>
              @for (c of categories; track c.id) { <option [ngValue]="c.id">{{ c.name }}</option> }
            </select>
            <label for="tags">Tags (comma separated)</label>
            <input id="tags" name="tags" [(ngModel)]="tags" />
            @if (fields()['tags']) { <div class="field-error">{{ fields()['tags'] }}</div> }
            @if (message()) { <p [class.error]="!saved()" class="muted">{{ message() }}</p> }
            <div class="row" style="margin-top: 12px"><button type="submit" data-test="save-stream">Save</button></div>
          </form>
        </section>
      </div>

      @if (current()?.status === 'live') {
        <section class="panel" style="margin-top: 16px">
          <div class="row">
            <h2 style="margin: 0">Viewers</h2>
            <span class="live-badge">live</span>
            <span class="spacer"></span>
            <strong style="font-size: 28px" data-test="dashboard-viewers">{{ live()?.concurrent_viewers ?? 0 }}</strong>
            <span class="muted">watching · peak {{ live()?.peak_viewers ?? 0 }} · {{ live()?.unique_viewers ?? 0 }} unique</span>
          </div>
          <app-viewer-chart [points]="samples()" />
          <a [routerLink]="['/streams', current()!.id]">Open the stream page</a>
        </section>
      }

      <h2>Past streams</h2>
      @if (channel(); as c) {
        <p class="muted" data-test="channel-totals">{{ c.streams | i18nPlural: plural.streams }} · {{ c.total_views | i18nPlural: plural.views }} ·
          {{ c.watch_time_seconds / 3600 | number: '1.0-1' }} hours watched · {{ c.followers | i18nPlural: plural.followers }}</p>
      }
      <table data-test="past-streams">
        <tr><th>Stream</th><th>Started</th><th>Minutes</th><th>Peak</th><th>Unique</th><th>Views</th><th>Replay</th></tr>
        @for (row of past(); track row.stream.id) {
          <tr>
            <td><a [routerLink]="['/streams', row.stream.id]">{{ row.stream.title }}</a></td>
            <td>{{ row.stream.started_at | date: 'short' }}</td>
            <td>{{ (row.stream.duration_seconds ?? 0) / 60 | number: '1.0-0' }}</td>
            <td>{{ row.stats?.peak_viewers ?? '–' }}</td>
            <td>{{ row.stats?.unique_viewers ?? '–' }}</td>
            <td>{{ row.stats?.total_views ?? '–' }}</td>
            <td>{{ row.stream.replay ? 'yes' : '–' }}</td>
          </tr>
        } @empty { <tr><td colspan="7" class="muted">No past streams yet.</td></tr> }
      </table>
    </main>
  `,
})
export class DashboardPage implements OnInit, OnDestroy {
  protected readonly session = inject(Session);
  private readonly api = inject(Api);
  protected readonly categories = CATEGORIES;
  protected readonly plural = { followers: FOLLOWERS, streams: STREAMS, views: VIEWS };
  protected readonly key = signal<StreamKey | null>(null);
  protected readonly current = signal<Stream | null>(null);
  protected readonly live = signal<StreamAnalytics | null>(null);
  protected readonly samples = signal<Point[]>([]);
  protected readonly past = signal<{ stream: Stream; stats: StreamAnalytics | null }[]>([]);
  protected readonly channel = signal<ChannelAnalytics | null>(null);
  protected readonly fields = signal<Record<string, string>>({});
  protected readonly message = signal('');
  protected readonly saved = signal(false);
  protected title = '';
  protected category: Category | null = null;
  protected tags = '';
  private timer?: ReturnType<typeof setInterval>;
  private editing = '';

  ngOnInit(): void {
    void this.refresh(true);
    this.timer = setInterval(() => void this.refresh(false), POLL_MS);
  }

  ngOnDestroy(): void {
    clearInterval(this.timer);
  }

  private async refresh(all: boolean): Promise<void> {
    const me = this.session.me();
    if (!me) {
      return;
    }
    try {
      const streams = (await firstValueFrom(this.api.channelStreams(me.username))).items;
      const current = streams.find((s) => s.status === 'live') ?? streams.find((s) => s.status === 'created') ?? null;
      this.current.set(current);
      if (current && current.id !== this.editing) {
        this.editing = current.id;
        this.title = current.title;
        this.category = current.category as Category | null;
        this.tags = current.tags.join(', ');
        this.samples.set([]);
      }
      if (current?.status === 'live') {
        const stats = await firstValueFrom(this.api.streamAnalytics(current.id));
        this.live.set(stats);
        this.samples.update((points) => [...points.slice(-199), { at: Date.now(), viewers: stats.concurrent_viewers }]);
      }
      const ended = streams.filter((s) => s.status === 'ended').slice(0, HISTORY);
      if (all || ended.length !== this.past().length) {
        const stats = await Promise.all(ended.map((s) =>
          firstValueFrom(this.api.streamAnalytics(s.id)).catch(() => null)));
        this.past.set(ended.map((stream, i) => ({ stream, stats: stats[i] })));
        this.channel.set(await firstValueFrom(this.api.channelAnalytics()));
      }
    } catch {
      // The next poll tries again; a failed poll changes nothing on screen.
    }
  }

  async rotate(): Promise<void> {
    try {
      this.key.set(await firstValueFrom(this.api.rotateKey()));
    } catch (error) {
      this.message.set(ApiError.of(error).message);
    }
  }

  async setRecording(enabled: boolean): Promise<void> {
    try {
      this.session.me.set(await firstValueFrom(this.api.updateProfile({ recording_enabled: enabled })));
    } catch (error) {
      this.message.set(ApiError.of(error).message);
    }
  }

  async save(): Promise<void> {
    const details = {
      title: this.title, category: this.category,
      tags: this.tags.split(',').map((t) => t.trim()).filter((t) => t),
    };
    try {
      const current = this.current();
      const stream = current
        ? await firstValueFrom(this.api.updateStream(current.id, details))
        : await firstValueFrom(this.api.createStream(details));
      this.current.set(stream);
      this.editing = stream.id;
      this.fields.set({});
      this.saved.set(true);
      this.message.set('Saved.');
    } catch (error) {
      const problem = ApiError.of(error);
      this.fields.set(problem.fields);
      this.saved.set(false);
      this.message.set(problem.message);
    }
  }
}
