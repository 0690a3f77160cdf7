// What the stream page tells record-view: join when playback starts, a heartbeat every 30 s,
// leave when the viewer goes (sent with keepalive so it survives the page closing).
import { Injectable, inject } from '@angular/core';
import { firstValueFrom } from 'rxjs';

import { Api, ViewAccepted } from './api/client';

export const HEARTBEAT_MS = 30_000;

@Injectable({ providedIn: 'root' })
export class ViewReporter {
  private readonly api = inject(Api);

  /** Starts reporting; `update` gets the concurrent viewer count after each report.
   *  Returns the function that stops (and sends leave). */
  watch(streamId: string, update: (viewers: number) => void): () => void {
    const session = crypto.randomUUID();
    const report = (action: 'join' | 'heartbeat') =>
      firstValueFrom(this.api.recordView(streamId, { session_id: session, action }))
        .then((accepted: ViewAccepted) => update(accepted.concurrent_viewers))
        .catch(() => undefined);
    void report('join');
    const timer = setInterval(() => void report('heartbeat'), HEARTBEAT_MS);
    const leave = () => {
      clearInterval(timer);
      window.removeEventListener('pagehide', leave);
      void fetch(`/api/streams/${encodeURIComponent(streamId)}/views`, {
        method: 'POST', keepalive: true, headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ session_id: session, action: 'leave' }),
      }).catch(() => undefined);
    };
    window.addEventListener('pagehide', leave);
    return leave;
  }
}
