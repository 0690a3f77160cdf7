// Clip: the last 30 seconds of a live stream, or of a replay up to the playhead. The clip is
// cut on the server in a moment; the button says so and links to the clip once it is ready.
import { Component, OnDestroy, inject, input, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, Clip } from '../api/client';
import { Session } from '../session';

const POLL_MS = 700;
const GIVE_UP_MS = 60_000;

@Component({
  selector: 'app-clip-button',
  imports: [RouterLink],
  template: `
    @if (session.signedIn()) {
      <button type="button" data-test="clip" [disabled]="busy()" (click)="clip()">
        {{ busy() ? 'Clipping…' : 'Clip' }}
      </button>
    }
    @if (made(); as c) {
      @if (c.status === 'ready') {
        <a [routerLink]="['/clips', c.id]" data-test="clip-link">Your clip is ready</a>
      } @else if (c.status === 'failed') {
        <span class="error" data-test="clip-error">The clip could not be made.</span>
      }
    }
    @if (error()) { <span class="error" data-test="clip-error">{{ error() }}</span> }
  `,
})
export class ClipButton implements OnDestroy {
  readonly streamId = input.required<string>();
  /** On a replay: where the clip ends (the playhead, in seconds). Live: null. */
  readonly endsAt = input<number | null>(null);
  protected readonly session = inject(Session);
  private readonly api = inject(Api);
  protected readonly busy = signal(false);
  protected readonly made = signal<Clip | null>(null);
  protected readonly error = signal('');
  private destroyed = false;

  protected async clip(): Promise<void> {
    this.busy.set(true);
    this.error.set('');
    this.made.set(null);
    try {
      const endsAt = this.endsAt();
      let clip = await firstValueFrom(
        this.api.createClip(this.streamId(), endsAt === null ? {} : { ends_at: Math.max(endsAt, 0) }),
      );
      const deadline = Date.now() + GIVE_UP_MS;
      while (clip.status === 'processing' && Date.now() < deadline && !this.destroyed) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        clip = await firstValueFrom(this.api.clip(clip.id));
      }
      this.made.set(clip);
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    } finally {
      this.busy.set(false);
    }
  }

  ngOnDestroy(): void {
    this.destroyed = true;
  }
}
