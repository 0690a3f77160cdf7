// A clip's own page: the MP4 in a plain <video>, who clipped what, a button that copies the
// page's link, and Delete for the clipper and the channel's owner.
import { DatePipe, DecimalPipe } from '@angular/common';
import { Component, computed, effect, inject, input, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, Clip } from '../api/client';
import { Session } from '../session';

@Component({
  selector: 'app-clip-page',
  imports: [DatePipe, DecimalPipe, RouterLink],
  styles: `video { width: 100%; max-width: 960px; aspect-ratio: 16 / 9; background: #000; border-radius: 6px; display: block; }`,
  template: `
    <main>
      @if (error()) { <p class="error" data-test="error">{{ error() }}</p> }
      @if (clip(); as c) {
        @if (c.playback) {
          <video controls autoplay muted playsinline data-test="clip-video"
                 [src]="c.playback.mp4" [poster]="c.thumbnail_url ?? ''"></video>
        } @else {
          <div class="panel muted" data-test="clip-status">
            {{ c.status === 'failed' ? 'This clip could not be made.' : 'This clip is being cut…' }}
          </div>
        }
        <div class="row" style="margin-top: 12px">
          <div>
            <h1 data-test="clip-title">{{ c.title }}</h1>
            <div class="muted">
              <a [routerLink]="['/channel', c.channel.username]">{{ c.channel.display_name }}</a>
              · clipped by {{ c.clipped_by.display_name }} · {{ c.created_at | date: 'medium' }}
              @if (c.duration_seconds) { · {{ c.duration_seconds | number: '1.0-0' }} s }
            </div>
            <a [routerLink]="['/streams', c.stream_id]">From the stream</a>
          </div>
          <span class="spacer"></span>
          <button type="button" data-test="copy-link" (click)="copy()">{{ copied() ? 'Link copied' : 'Copy link' }}</button>
          @if (mayDelete()) {
            <button type="button" data-test="delete-clip" (click)="remove(c)">Delete</button>
          }
        </div>
      }
    </main>
  `,
})
export class ClipPage {
  readonly id = input.required<string>();
  private readonly api = inject(Api);
  private readonly router = inject(Router);
  private readonly session = inject(Session);
  protected readonly clip = signal<Clip | null>(null);
  protected readonly error = signal('');
  protected readonly copied = signal(false);
  protected readonly mayDelete = computed(() => {
    const me = this.session.me()?.id;
    const clip = this.clip();
    return !!me && !!clip && (clip.clipped_by.id === me || clip.channel.id === me);
  });

  constructor() {
    effect(() => void this.load(this.id()));
  }

  private async load(id: string): Promise<void> {
    try {
      this.clip.set(await firstValueFrom(this.api.clip(id)));
      this.error.set('');
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    }
  }

  protected async copy(): Promise<void> {
    await navigator.clipboard.writeText(location.href).catch(() => undefined);
    this.copied.set(true);
    setTimeout(() => this.copied.set(false), 2_000);
  }

  protected async remove(clip: Clip): Promise<void> {
    try {
      await firstValueFrom(this.api.deleteClip(clip.id));
      await this.router.navigate(['/channel', clip.channel.username]);
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    }
  }
}
