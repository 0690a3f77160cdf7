import { Component, computed, input } from '@angular/core';

export interface Point { at: number; viewers: number; }

/** Concurrent viewers over time, as a line scaled to its own maximum. */
@Component({
  selector: 'app-viewer-chart',
  template: `
    <svg viewBox="0 0 600 160" preserveAspectRatio="none" data-test="viewer-chart" role="img"
         [attr.aria-label]="'Viewers, at most ' + max()">
      <polyline [attr.points]="line()" fill="none" stroke="var(--accent)" stroke-width="2" />
      <text x="4" y="14" fill="var(--muted)" font-size="12">{{ max() }}</text>
      <text x="4" y="156" fill="var(--muted)" font-size="12">0</text>
    </svg>
  `,
  styles: `svg { width: 100%; height: 160px; background: #111114; border-radius: 4px; }`,
})
export class ViewerChart {
  readonly points = input.required<Point[]>();
  protected readonly max = computed(() => Math.max(1, ...this.points().map((p) => p.viewers)));
  protected readonly line = computed(() => {
    const points = this.points();
    if (points.length < 2) {
      return points.length ? `0,${this.y(points[0].viewers)} 600,${this.y(points[0].viewers)}` : '';
    }
    const first = points[0].at, span = Math.max(1, points[points.length - 1].at - first);
    return points.map((p) => `${((p.at - first) / span) * 600},${this.y(p.viewers)}`).join(' ');
  });

  private y(viewers: number): number {
    return 150 - (viewers / this.max()) * 130;
  }
}
