import { DatePipe, I18nPluralPipe } from '@angular/common';
import { Component, OnDestroy, effect, inject, input, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, PublicUser, Stream } from '../api/client';
import { Player } from '../player';
import { ViewReporter } from '../views';
import { FOLLOWERS } from '../plural';
import { ChatPanel } from './chat-panel';
import { ClipButton } from './clip-button';
import { FollowButton } from './follow-button';

@Component({
  selector: 'app-stream-page',
  styles: `
    .watch { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 16px; align-items: start; }
    @media (max-width: 900px) { .watch { grid-template-columns: 1fr; } }
  `,
  imports: [ChatPanel, ClipButton, DatePipe, FollowButton, I18nPluralPipe, Player, RouterLink],
  template: `
    <main>
      @if (error()) { <p class="error" data-test="error">{{ error() }}</p> }
      @if (stream(); as s) {
        <div class="watch">
        <div>
        @if (s.playback) {
          <app-player [src]="s.playback.hls" />
        } @else if (s.replay) {
          <app-player [src]="s.replay.hls" [live]="false" (time)="playhead.set($event)" />
        } @else {
          <div class="panel muted">This stream is {{ s.status === 'created' ? 'not live yet' : 'over' }}.</div>
        }
        <div class="row" style="margin-top: 12px">
          <div>
            <h1 data-test="title">{{ s.title }}</h1>
            <div class="row muted">
              <a [routerLink]="['/channel', s.user.username]" data-test="channel">{{ s.user.display_name }}</a>
              @if (s.category_name) { <span>· {{ s.category_name }}</span> }
              @for (tag of s.tags; track tag) { <span>#{{ tag }}</span> }
            </div>
          </div>
          <span class="spacer"></span>
          @if (s.playback) {
            <app-clip-button [streamId]="s.id" />
          } @else if (s.replay) {
            <app-clip-button [streamId]="s.id" [endsAt]="playhead()" />
          }
          @if (s.status === 'live') {
            <span class="live-badge">live</span>
            <span data-test="viewer-count">{{ viewers() }} watching</span>
          } @else if (s.started_at) {
            <span class="muted">{{ s.started_at | date: 'medium' }} · {{ minutes(s) }} min</span>
          }
        </div>
        <div class="panel row" style="margin-top: 16px">
          <div>
            <a [routerLink]="['/channel', s.user.username]"><strong>{{ s.user.display_name }}</strong></a>
            <div class="muted" data-test="followers">{{ owner()?.followers_count ?? 0 | i18nPlural: followersPlural }}</div>
          </div>
          <span class="spacer"></span>
          <app-follow-button [username]="s.user.username" (changed)="owner.set($event)" />
        </div>
        @if (s.description) { <p>{{ s.description }}</p> }
        </div>
        <app-chat-panel [channel]="s.user.username" [replay]="s.replay && !s.playback ? s : null"
                        [playhead]="playhead()" />
        </div>
      }
    </main>
  `,
})
export class StreamPage implements OnDestroy {
  readonly id = input.required<string>();
  private readonly api = inject(Api);
  protected readonly followersPlural = FOLLOWERS;
  private readonly reporter = inject(ViewReporter);
  protected readonly stream = signal<Stream | null>(null);
  protected readonly owner = signal<PublicUser | null>(null);
  protected readonly viewers = signal(0);
  protected readonly playhead = signal(0);
  protected readonly error = signal('');
  private stopWatching?: () => void;

  constructor() {
    effect(() => void this.load(this.id()));
  }

  private async load(id: string): Promise<void> {
    this.stopWatching?.();
    try {
      const stream = await firstValueFrom(this.api.stream(id));
      this.stream.set(stream);
      this.viewers.set(stream.viewer_count);
      this.owner.set(await firstValueFrom(this.api.profile(stream.user.username)));
      if (stream.status === 'live') {
        this.stopWatching = this.reporter.watch(id, (viewers) => this.viewers.set(viewers));
      }
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    }
  }

  protected minutes(stream: Stream): number {
    return Math.round((stream.duration_seconds ?? 0) / 60);
  }

  ngOnDestroy(): void {
    this.stopWatching?.();
  }
}
