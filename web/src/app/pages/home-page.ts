import { Component, OnDestroy, OnInit, effect, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError, Category, Stream } from '../api/client';
import { CATEGORIES } from '../categories';
import { Session } from '../session';
import { StreamCard } from './stream-card';

const REFRESH_MS = 15_000;

@Component({
  selector: 'app-home-page',
  imports: [FormsModule, StreamCard],
  template: `
    <main>
      @if (session.signedIn() && recommended().length) {
        <h2>Recommended for you</h2>
        <div class="grid" data-test="recommended">
          @for (item of recommended(); track item.stream.id) {
            <app-stream-card [stream]="item.stream" [reason]="item.reason" />
          }
        </div>
      }
      <div class="row">
        <h1>Live now</h1>
        <span class="spacer"></span>
        <select [ngModel]="category()" (ngModelChange)="category.set($event)" aria-label="Category"
                data-test="category" style="width: 220px">
          <option [ngValue]="null">All categories</option>
          @for (c of categories; track c.id) { <option [ngValue]="c.id">{{ c.name }}</option> }
        </select>
      </div>
      @if (error()) { <p class="error">{{ error() }}</p> }
      <div class="grid" data-test="live-streams">
        @for (stream of live(); track stream.id) {
          <app-stream-card [stream]="stream" />
        } @empty {
          <p class="muted">Nobody is live right now.</p>
        }
      </div>
    </main>
  `,
})
export class HomePage implements OnInit, OnDestroy {
  protected readonly session = inject(Session);
  private readonly api = inject(Api);
  protected readonly categories = CATEGORIES;
  protected readonly category = signal<Category | null>(null);
  protected readonly live = signal<Stream[]>([]);
  protected readonly recommended = signal<{ stream: Stream; reason: string }[]>([]);
  protected readonly error = signal('');
  private timer?: ReturnType<typeof setInterval>;

  constructor() {
    effect(() => {
      this.category();
      void this.load();
    });
  }

  ngOnInit(): void {
    this.timer = setInterval(() => void this.load(), REFRESH_MS);
  }

  ngOnDestroy(): void {
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    try {
      const page = await firstValueFrom(this.api.liveStreams(this.category() ?? undefined));
      this.live.set(page.items);
      this.error.set('');
      if (this.session.signedIn()) {
        this.recommended.set((await firstValueFrom(this.api.recommendedStreams())).items);
      }
    } catch (error) {
      this.error.set(ApiError.of(error).message);
    }
  }
}
