import { Component, effect, inject, input, output, signal } from '@angular/core';
import { Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, PublicUser } from '../api/client';
import { Session } from '../session';

@Component({
  selector: 'app-follow-button',
  template: `
    @if (session.me()?.username !== username()) {
      <button data-test="follow" [class.secondary]="following()" [disabled]="busy()" (click)="toggle()">
        {{ following() ? 'Following' : 'Follow' }}
      </button>
      @if (error()) { <span class="error">{{ error() }}</span> }
    }
  `,
})
export class FollowButton {
  readonly username = input.required<string>();
  readonly changed = output<PublicUser>();
  protected readonly session = inject(Session);
  private readonly api = inject(Api);
  private readonly router = inject(Router);
  protected readonly following = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal('');

  constructor() {
    effect(() => {
      const username = this.username();
      if (this.session.signedIn()) {
        firstValueFrom(this.api.followStatus(username))
          .then((state) => this.following.set(state.following))
          .catch(() => undefined);
      }
    });
  }

  async toggle(): Promise<void> {
    if (!this.session.signedIn()) {
      await this.router.navigateByUrl('/login');
      return;
    }
    this.busy.set(true);
    try {
      const state = await firstValueFrom(this.api.follow(this.username(), !this.following()));
      this.following.set(state.following);
      this.error.set('');
      this.changed.emit(state.user);
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    } finally {
      this.busy.set(false);
    }
  }
}
