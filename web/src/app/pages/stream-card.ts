import { Component, input } from '@angular/core';
import { RouterLink } from '@angular/router';

import { Stream } from '../api/client';

@Component({
  selector: 'app-stream-card',
  imports: [RouterLink],
  template: `
    <a class="card" [routerLink]="['/streams', stream().id]" [attr.data-stream]="stream().id" data-test="stream-card">
      @if (stream().thumbnail_url; as thumbnail) {
        <img [src]="thumbnail" [alt]="stream().title" loading="lazy" />
      } @else {
        <div class="placeholder"></div>
      }
      <div class="title">{{ stream().title }}</div>
      <div class="row muted">
        <span>{{ stream().user.display_name }}</span>
        @if (stream().category_name) { <span>· {{ stream().category_name }}</span> }
        <span class="spacer"></span>
        @if (stream().status === 'live') {
          <span class="live-badge">live</span>
          <span data-test="viewers">{{ stream().viewer_count }} watching</span>
        }
      </div>
      @if (reason()) { <div class="muted reason">{{ reason() }}</div> }
    </a>
  `,
  styles: `.card { display: block; } .reason { font-style: italic; margin-top: 2px; }`,
})
export class StreamCard {
  readonly stream = input.required<Stream>();
  readonly reason = input<string>('');
}
