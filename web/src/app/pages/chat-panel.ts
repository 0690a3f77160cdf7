// A channel's chat room beside the video. Live: the last messages on open, then the room's
// Server-Sent Events (message, delete, ban, settings), resumed after the last event seen
// whenever the connection drops. Replay: the chat of that stream as it happened, kept in
// step with the player's playhead. Text is always shown as text (interpolation, never
// innerHTML). Owner and moderators get moderation on each message and the room's settings;
// a viewer who cannot post is told why, and until when.
import { DatePipe } from '@angular/common';
import {
  Component, ElementRef, OnDestroy, computed, effect, inject, input, signal, untracked, viewChild,
} from '@angular/core';
import { FormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, ChatMessage, ChatSettings, Stream, UserSummary } from '../api/client';
import { Session } from '../session';

const SHOWN = 200;
const MAX_LENGTH = 500;
const TIMEOUT_SECONDS = 600;
const RECONNECT_FIRST_MS = 1_000;
const RECONNECT_MAX_MS = 15_000;
const REPLAY_LEAD_MS = 10_000;     // load a replay's chat this far ahead of the playhead
const REPLAY_JUMP_MS = 5 * 60_000; // a seek further than this reloads from there

/** Why the viewer cannot post right now, and until when (null: until something changes). */
interface Refusal {
  text: string;
  until: number | null;
}

@Component({
  selector: 'app-chat-panel',
  imports: [DatePipe, FormsModule, RouterLink],
  styles: `
    :host { display: flex; flex-direction: column; min-height: 0; }
    .messages { flex: 1; overflow-y: auto; min-height: 240px; max-height: 520px; padding: 4px 0; }
    .message { padding: 3px 2px; overflow-wrap: anywhere; }
    .message .author { font-weight: 700; color: #bf94ff; margin-right: 4px; }
    .message .tools { display: inline-flex; gap: 4px; margin-left: 6px; opacity: .3; }
    .message:hover .tools, .message:focus-within .tools { opacity: 1; }
    .tools button { padding: 0 6px; font-size: 12px; }
    .notice { font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 6px; }
    form { display: flex; gap: 6px; margin-top: 8px; }
    .settings label { margin-top: 6px; }
  `,
  template: `
    <div class="panel" data-test="chat-panel" style="display: flex; flex-direction: column; height: 100%">
      <div class="row">
        <strong>{{ replay() ? 'Chat replay' : 'Chat' }}</strong>
        <span class="spacer"></span>
        @if (!replay() && !connected()) { <span class="muted" data-test="chat-connecting">connecting…</span> }
        @if (moderates() && !replay()) {
          <button class="secondary" type="button" data-test="chat-settings-toggle"
                  (click)="editing.set(!editing())">Settings</button>
        }
      </div>
      @if (editing() && settings(); as s) {
        <form class="settings" style="display: block" (ngSubmit)="saveSettings()" data-test="chat-settings">
          <label for="slow">Slow mode (seconds between messages, 0 = off)</label>
          <input id="slow" name="slow" type="number" min="0" max="3600" [(ngModel)]="slowMode" data-test="chat-slow-mode" />
          <label for="followers">Followers-only (minutes followed; empty = off)</label>
          <input id="followers" name="followers" type="number" min="0" [(ngModel)]="followersOnly" data-test="chat-followers-only" />
          <label for="terms">Blocked terms (comma-separated)</label>
          <input id="terms" name="terms" [(ngModel)]="blockedTerms" data-test="chat-blocked-terms" />
          <div class="row" style="margin-top: 8px"><button type="submit" data-test="chat-settings-save">Save</button></div>
        </form>
      }
      <div class="messages" #list data-test="chat-messages" aria-live="polite">
        @for (m of shown(); track m.id) {
          <div class="message" data-test="chat-message" [attr.data-id]="m.id">
            <span class="muted" style="margin-right: 6px">{{ m.sent_at | date: 'HH:mm' }}</span>
            <a class="author" [routerLink]="['/channel', m.user.username]" data-test="chat-author">{{ m.user.display_name }}</a>
            <span data-test="chat-text">{{ m.text }}</span>
            @if (mayModerate(m.user)) {
              <span class="tools">
                <button class="secondary" type="button" title="Delete this message" data-test="chat-delete" (click)="remove(m)">Delete</button>
                <button class="secondary" type="button" title="Time out for 10 minutes" data-test="chat-timeout" (click)="ban(m.user, timeoutSeconds)">Timeout</button>
                <button class="secondary" type="button" title="Ban from this chat" data-test="chat-ban" (click)="ban(m.user, null)">Ban</button>
              </span>
            }
          </div>
        } @empty {
          <p class="muted" data-test="chat-empty">{{ replay() ? 'No chat at this point of the stream.' : 'No messages yet. Say hello!' }}</p>
        }
      </div>
      @if (error()) { <div class="error" data-test="chat-error">{{ error() }}</div> }
      @if (!replay()) {
        @if (roomNotice()) { <div class="notice" data-test="chat-mode">{{ roomNotice() }}</div> }
        @if (session.signedIn()) {
          @if (refusalText()) { <div class="error" data-test="chat-refusal">{{ refusalText() }}</div> }
          <form (ngSubmit)="send()" data-test="chat-form">
            <input name="text" [(ngModel)]="draft" [maxlength]="maxLength" autocomplete="off"
                   placeholder="Send a message" aria-label="Chat message" data-test="chat-input" />
            <button type="submit" [disabled]="busy() || !draft.trim() || blocked()" data-test="chat-send">Chat</button>
          </form>
        } @else {
          <div class="notice"><a routerLink="/login" data-test="chat-login">Log in</a> to chat.</div>
        }
      }
    </div>
  `,
})
export class ChatPanel implements OnDestroy {
  /** The channel whose room this is. */
  readonly channel = input.required<string>();
  /** A stream being replayed: the panel plays its chat along with `playhead`. */
  readonly replay = input<Stream | null>(null);
  /** The replay's playhead, in seconds from the stream's start. */
  readonly playhead = input(0);

  protected readonly session = inject(Session);
  private readonly api = inject(Api);
  private readonly list = viewChild<ElementRef<HTMLElement>>('list');
  protected readonly maxLength = MAX_LENGTH;
  protected readonly timeoutSeconds = TIMEOUT_SECONDS;

  private readonly messages = signal<ChatMessage[]>([]);
  protected readonly settings = signal<ChatSettings | null>(null);
  private readonly moderators = signal<string[]>([]);
  protected readonly connected = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal('');
  private readonly refusal = signal<Refusal | null>(null);
  private readonly now = signal(Date.now());
  protected readonly editing = signal(false);
  protected draft = '';
  protected slowMode = 0;
  protected followersOnly: number | null = null;
  protected blockedTerms = '';

  private source: EventSource | null = null;
  private lastEventId: string | null = null;
  private reconnectMs = RECONNECT_FIRST_MS;
  private reconnect?: ReturnType<typeof setTimeout>;
  private ticker?: ReturnType<typeof setInterval>;
  private generation = 0;
  // Replay: what is loaded, from when, and where the next page starts.
  private replayFrom = 0;
  private replayCursor: string | null = null;
  private replayDone = false;
  private replayLoading = false;

  protected readonly moderates = computed(() => {
    const me = this.session.me();
    return !!me && (me.username === this.channel() || this.moderators().includes(me.username));
  });

  protected readonly shown = computed(() => {
    const replay = this.replay();
    const all = this.messages();
    if (!replay?.started_at) {
      return all.slice(-SHOWN);
    }
    const at = Date.parse(replay.started_at) + this.playhead() * 1000;
    return all.filter((m) => Date.parse(m.sent_at) <= at).slice(-SHOWN);
  });

  protected readonly roomNotice = computed(() => {
    const s = this.settings();
    if (!s) {
      return '';
    }
    const parts = [];
    if (s.slow_mode_seconds > 0) {
      parts.push(`Slow mode: one message every ${s.slow_mode_seconds} s.`);
    }
    if (s.followers_only_minutes !== null) {
      parts.push(s.followers_only_minutes === 0 ? 'Followers-only chat.'
        : `Followers-only chat: follow for ${s.followers_only_minutes} min to chat.`);
    }
    return parts.join(' ');
  });

  protected readonly blocked = computed(() => {
    const refusal = this.refusal();
    return !!refusal && (refusal.until === null || refusal.until > this.now());
  });

  protected readonly refusalText = computed(() => {
    const refusal = this.refusal();
    if (!refusal || !this.blocked()) {
      return '';
    }
    return refusal.text.replace('{left}', String(Math.ceil(((refusal.until ?? 0) - this.now()) / 1000)));
  });

  constructor() {
    effect(() => {
      const channel = this.channel();
      const replay = this.replay();
      untracked(() => void this.open(channel, replay));
    });
    effect(() => {
      const playhead = this.playhead();
      if (this.replay()) {
        untracked(() => void this.follow(playhead));
      }
    });
    effect(() => {
      this.shown();
      untracked(() => this.scrollDown());
    });
    this.ticker = setInterval(() => this.now.set(Date.now()), 1000);
  }

  // --- live --------------------------------------------------------------------------

  private async open(channel: string, replay: Stream | null): Promise<void> {
    const generation = ++this.generation;
    this.close();
    this.messages.set([]);
    this.refusal.set(null);
    this.error.set('');
    void firstValueFrom(this.api.chatModerators(channel))
      .then((m) => this.moderators.set(m.items.map((u) => u.username))).catch(() => undefined);
    if (replay) {
      this.replayFrom = Number.POSITIVE_INFINITY;
      await this.follow(this.playhead());
      return;
    }
    try {
      const [history, settings] = await Promise.all([
        firstValueFrom(this.api.chatHistory(channel)),
        firstValueFrom(this.api.chatSettings(channel)),
      ]);
      if (generation !== this.generation) {
        return;
      }
      this.messages.set(history.items);
      this.setSettings(settings);
      this.lastEventId = history.last_event_id ?? null;
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    }
    if (generation === this.generation) {
      this.listen(channel);
    }
  }

  private listen(channel: string): void {
    const source = new EventSource(this.api.chatEventsUrl(channel, this.lastEventId));
    this.source = source;
    const on = (type: string, handle: (data: any) => void) =>
      source.addEventListener(type, (event) => {
        const message = event as MessageEvent<string>;
        this.lastEventId = message.lastEventId || this.lastEventId;
        handle(JSON.parse(message.data));
      });
    source.onopen = () => {
      this.connected.set(true);
      this.reconnectMs = RECONNECT_FIRST_MS;
    };
    on('message', (message: ChatMessage) => this.add([message]));
    on('delete', ({ id }: { id: number }) => this.messages.update((all) => all.filter((m) => m.id !== id)));
    on('settings', (settings: ChatSettings) => this.setSettings(settings));
    on('ban', ({ user, until }: { user: UserSummary; until: string | null }) => {
      if (user.username === this.session.me()?.username) {
        this.refuse(until ? `You are timed out until ${time(until)}.` : 'You are banned from this chat.',
                    until ? Date.parse(until) : null);
      }
    });
    source.onerror = () => {
      this.connected.set(false);
      if (source.readyState === EventSource.CLOSED) {
        // Refused outright (the service is restarting, or unavailable): the browser gives
        // up, so try again, later each time, from the last event seen.
        this.close();
        this.reconnect = setTimeout(() => this.listen(channel), this.reconnectMs);
        this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MAX_MS);
      }
    };
  }

  private add(messages: ChatMessage[]): void {
    this.messages.update((all) => {
      const seen = new Set(all.map((m) => m.id));
      const fresh = messages.filter((m) => !seen.has(m.id));
      return fresh.length ? [...all, ...fresh].slice(-SHOWN * 2) : all;
    });
  }

  private setSettings(settings: ChatSettings): void {
    this.settings.set(settings);
    this.slowMode = settings.slow_mode_seconds;
    this.followersOnly = settings.followers_only_minutes;
    this.blockedTerms = settings.blocked_terms.join(', ');
  }

  protected async send(): Promise<void> {
    const text = this.draft.trim();
    if (!text || this.blocked()) {
      return;
    }
    this.busy.set(true);
    try {
      const message = await firstValueFrom(this.api.sendChat(this.channel(), text));
      this.add([message]);
      this.draft = '';
      this.refusal.set(null);
      this.error.set('');
    } catch (error) {
      this.refused(ApiError.of(error));
    } finally {
      this.busy.set(false);
    }
  }

  /** Say why a message was refused, and hold the composer until the reason passes. */
  private refused(error: ApiError): void {
    const detail = (error.details[0] ?? {}) as { reason?: string; until?: string | null; wait?: number };
    switch (detail.reason) {
      case 'timed_out':
        this.refuse(`You are timed out until ${time(detail.until ?? '')}.`,
                    detail.until ? Date.parse(detail.until) : null);
        return;
      case 'banned':
        this.refuse('You are banned from this chat.', null);
        return;
      case 'slow_mode':
        this.refuse('Slow mode is on: you can send another message in {left} s.', this.after(error, detail));
        return;
      case 'rate_limit':
        this.refuse('You are sending messages too fast: wait {left} s.', this.after(error, detail));
        return;
    }
    if (error.status === 401) {
      this.error.set('Log in again to chat.');
    } else {
      this.error.set(error.message);  // follower-only, a blocked term, too long…
    }
  }

  private after(error: ApiError, detail: { wait?: number }): number {
    return Date.now() + (detail.wait ?? error.retryAfter ?? 1) * 1000;
  }

  private refuse(text: string, until: number | null): void {
    this.error.set('');
    this.now.set(Date.now());
    this.refusal.set({ text, until });
  }

  // --- moderation ----------------------------------------------------------------------

  protected mayModerate(author: UserSummary): boolean {
    const me = this.session.me();
    return this.moderates() && !!me && author.username !== me.username && author.username !== this.channel();
  }

  protected async remove(message: ChatMessage): Promise<void> {
    await this.act(this.api.deleteChat(this.channel(), message.id));
    this.messages.update((all) => all.filter((m) => m.id !== message.id));
  }

  protected async ban(user: UserSummary, seconds: number | null): Promise<void> {
    await this.act(this.api.banFromChat(this.channel(), user.username, seconds));
  }

  protected async saveSettings(): Promise<void> {
    const terms = this.blockedTerms.split(',').map((t) => t.trim()).filter((t) => t);
    const followers = this.followersOnly === null || String(this.followersOnly) === '' ? null
      : Number(this.followersOnly);
    const saved = await this.act(this.api.changeChatSettings(this.channel(), {
      slow_mode_seconds: Number(this.slowMode) || 0, followers_only_minutes: followers, blocked_terms: terms,
    }));
    if (saved) {
      this.setSettings(saved);
      this.editing.set(false);
    }
  }

  private async act<T>(request: import('rxjs').Observable<T>): Promise<T | null> {
    try {
      const result = await firstValueFrom(request);
      this.error.set('');
      return result;
    } catch (error) {
      this.error.set(ApiError.of(error).message);
      return null;
    }
  }

  // --- replay --------------------------------------------------------------------------

  /** Have the chat loaded around the playhead: the next pages as it moves on, or afresh
   * from where a seek landed. */
  private async follow(playhead: number): Promise<void> {
    const stream = this.replay();
    if (!stream?.started_at || this.replayLoading) {
      return;
    }
    const at = Date.parse(stream.started_at) + playhead * 1000;
    const all = this.messages();
    const last = all.length ? Date.parse(all[all.length - 1].sent_at) : this.replayFrom;
    const jumped = at < this.replayFrom || (!this.replayDone && at - last > REPLAY_JUMP_MS);
    if (!jumped && (this.replayDone || last > at + REPLAY_LEAD_MS)) {
      return;
    }
    this.replayLoading = true;
    try {
      if (jumped) {
        this.replayFrom = Math.max(Date.parse(stream.started_at), at - 60_000);
        const page = await firstValueFrom(this.api.replayChat(stream.id, new Date(this.replayFrom).toISOString(), null));
        this.messages.set(page.items);
        this.replayCursor = page.next_cursor;
        this.replayDone = !page.next_cursor;
      } else if (this.replayCursor) {
        const page = await firstValueFrom(this.api.replayChat(stream.id, null, this.replayCursor));
        this.add(page.items);
        this.replayCursor = page.next_cursor;
        this.replayDone = !page.next_cursor;
      }
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    } finally {
      this.replayLoading = false;
    }
  }

  // --- the rest ------------------------------------------------------------------------

  private scrollDown(): void {
    const list = this.list()?.nativeElement;
    if (list) {
      setTimeout(() => (list.scrollTop = list.scrollHeight));
    }
  }

  private close(): void {
    clearTimeout(this.reconnect);
    this.source?.close();
    this.source = null;
  }

  ngOnDestroy(): void {
    this.generation++;
    this.close();
    clearInterval(this.ticker);
  }
}

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
