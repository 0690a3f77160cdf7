import { DatePipe, DecimalPipe, I18nPluralPipe } from '@angular/common';
import { Component, effect, inject, input, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, Clip, FollowPage, PublicUser, Stream } from '../api/client';
import { FOLLOWERS } from '../plural';
import { ChatPanel } from './chat-panel';
import { FollowButton } from './follow-button';
import { StreamCard } from './stream-card';

@Component({
  selector: 'app-channel-page',
  imports: [ChatPanel, DatePipe, DecimalPipe, FollowButton, I18nPluralPipe, RouterLink, StreamCard],
  styles: `
    .channel { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 16px; align-items: start; }
    @media (max-width: 900px) { .channel { grid-template-columns: 1fr; } }
  `,
  template: `
    <main>
      @if (error()) { <p class="error">{{ error() }}</p> }
      @if (user(); as u) {
        <div class="channel">
        <div>
        <div class="row">
          <div>
            <h1 data-test="display-name">{{ u.display_name }}
              @if (u.is_live) { <span class="live-badge">live</span> }</h1>
            <div class="muted">&#64;{{ u.username }} · member since {{ u.created_at | date: 'mediumDate' }}</div>
          </div>
          <span class="spacer"></span>
          <app-follow-button [username]="u.username" (changed)="changed($event)" />
        </div>
        @if (u.bio) { <p>{{ u.bio }}</p> }
        <div class="row muted">
          <span data-test="followers-count">{{ u.followers_count | i18nPlural: followersPlural }}</span>
          <span>{{ u.following_count }} following</span>
        </div>
        <h2>Streams</h2>
        <div class="grid" data-test="channel-streams">
          @for (stream of streams(); track stream.id) {
            <div>
              <app-stream-card [stream]="stream" />
              @if (stream.replay) { <div class="muted">Replay · {{ stream.replay.duration_seconds / 60 | number: '1.0-0' }} min</div> }
            </div>
          } @empty { <p class="muted">No streams yet.</p> }
        </div>
        <h2>Clips</h2>
        <div class="grid" data-test="channel-clips">
          @for (clip of clips(); track clip.id) {
            <a class="panel" [routerLink]="['/clips', clip.id]" data-test="clip-card">
              @if (clip.thumbnail_url) { <img [src]="clip.thumbnail_url" alt="" style="width: 100%; border-radius: 4px" /> }
              <strong>{{ clip.title }}</strong>
              <div class="muted">{{ clip.duration_seconds ?? 0 | number: '1.0-0' }} s · by {{ clip.clipped_by.display_name }}</div>
            </a>
          } @empty { <p class="muted">No clips yet.</p> }
        </div>
        <div class="grid" style="margin-top: 24px">
          <div class="panel">
            <h2 style="margin-top: 0">Followers</h2>
            @for (edge of followers()?.items ?? []; track edge.user.id) {
              <div><a [routerLink]="['/channel', edge.user.username]">{{ edge.user.display_name }}</a></div>
            } @empty { <p class="muted">No followers yet.</p> }
          </div>
          <div class="panel">
            <h2 style="margin-top: 0">Following</h2>
            @for (edge of following()?.items ?? []; track edge.user.id) {
              <div><a [routerLink]="['/channel', edge.user.username]">{{ edge.user.display_name }}</a></div>
            } @empty { <p class="muted">Not following anyone.</p> }
          </div>
        </div>
        </div>
        <app-chat-panel [channel]="u.username" />
        </div>
      }
    </main>
  `,
})
export class ChannelPage {
  readonly username = input.required<string>();
  private readonly api = inject(Api);
  protected readonly followersPlural = FOLLOWERS;
  protected readonly user = signal<PublicUser | null>(null);
  protected readonly streams = signal<Stream[]>([]);
  protected readonly clips = signal<Clip[]>([]);
  protected readonly followers = signal<FollowPage | null>(null);
  protected readonly following = signal<FollowPage | null>(null);
  protected readonly error = signal('');

  constructor() {
    effect(() => void this.load(this.username()));
  }

  private async load(username: string): Promise<void> {
    try {
      const [user, streams, clips, followers, following] = await Promise.all([
        firstValueFrom(this.api.profile(username)),
        firstValueFrom(this.api.channelStreams(username)),
        firstValueFrom(this.api.channelClips(username)),
        firstValueFrom(this.api.followers(username)),
        firstValueFrom(this.api.following(username)),
      ]);
      this.user.set(user);
      this.streams.set(streams.items);
      this.clips.set(clips.items);
      this.followers.set(followers);
      this.following.set(following);
      this.error.set('');
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    }
  }

  protected changed(user: PublicUser): void {
    this.user.set(user);
    void firstValueFrom(this.api.followers(user.username)).then((page) => this.followers.set(page));
  }
}
