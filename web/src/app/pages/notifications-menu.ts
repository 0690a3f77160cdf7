import { DatePipe } from '@angular/common';
import { Component, OnDestroy, OnInit, inject, signal } from '@angular/core';
import { Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, Inbox, Notification } from '../api/client';

const POLL_MS = 30_000;

/** The header's inbox: "CHANNEL went live: TITLE", newest first, with the unread count. */
@Component({
  selector: 'app-notifications-menu',
  imports: [DatePipe],
  template: `
    <div class="menu">
      <button class="secondary" data-test="notifications" (click)="toggle()"
              [attr.data-unread]="inbox()?.unread_count"
              [attr.aria-expanded]="open()" aria-label="Notifications">
        Inbox @if (inbox()?.unread_count) { <span class="count" data-test="unread">{{ inbox()!.unread_count }}</span> }
      </button>
      @if (open()) {
        <div class="panel dropdown" data-test="inbox">
          <div class="row">
            <strong>Notifications</strong>
            <span class="spacer"></span>
            @if (inbox()?.unread_count) {
              <a href="" (click)="$event.preventDefault(); markAll()" data-test="mark-all">Mark all read</a>
            }
          </div>
          @for (item of inbox()?.items ?? []; track item.id) {
            <a class="item" [class.unread]="!item.read" href="" data-test="notification"
               (click)="$event.preventDefault(); openItem(item)">
              <div>{{ item.message }}</div>
              <div class="muted">{{ item.created_at | date: 'short' }}</div>
            </a>
          } @empty { <p class="muted">Nothing yet. Follow channels to hear when they go live.</p> }
        </div>
      }
    </div>
  `,
  styles: `
    .menu { position: relative; }
    .count { background: var(--live); border-radius: 8px; padding: 0 6px; margin-left: 4px; font-size: 12px; }
    .dropdown { position: absolute; right: 0; top: 40px; width: 340px; z-index: 10; max-height: 420px; overflow-y: auto; }
    .item { display: block; padding: 8px 4px; border-top: 1px solid var(--line); }
    .item.unread { font-weight: 600; }
  `,
})
export class NotificationsMenu implements OnInit, OnDestroy {
  private readonly api = inject(Api);
  private readonly router = inject(Router);
  protected readonly inbox = signal<Inbox | null>(null);
  protected readonly open = signal(false);
  private timer?: ReturnType<typeof setInterval>;

  ngOnInit(): void {
    void this.load();
    this.timer = setInterval(() => void this.load(), POLL_MS);
  }

  ngOnDestroy(): void {
    clearInterval(this.timer);
  }

  protected toggle(): void {
    this.open.update((open) => !open);
    if (this.open()) {
      void this.load();
    }
  }

  protected async markAll(): Promise<void> {
    await this.mark({ all: true });
  }

  protected async openItem(item: Notification): Promise<void> {
    this.open.set(false);
    if (!item.read) {
      await this.mark({ ids: [item.id] });
    }
    await this.router.navigate(['/streams', item.stream_id]);
  }

  private async mark(which: { all?: boolean; ids?: number[] }): Promise<void> {
    try {
      await firstValueFrom(this.api.markRead(which));
    } finally {
      await this.load();
    }
  }

  private async load(): Promise<void> {
    try {
      this.inbox.set(await firstValueFrom(this.api.notifications()));
    } catch {
      // The next poll tries again.
    }
  }
}
