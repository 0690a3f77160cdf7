// The signed-in session. The access token lives in memory only; the refresh token lives
// in an HttpOnly, SameSite=Strict cookie that the API sets on /api/auth/ and that no script
// can read. Neither is ever in localStorage, sessionStorage or a URL. At start-up and when
// the access token is about to expire (or the API answers 401), the app asks
// /api/auth/refresh for a new pair with the cookie. Refresh tokens rotate on every use and a
// spent one revokes the session, so tabs take turns refreshing (Web Locks), each reading the
// cookie the previous one left.
import {
  HttpErrorResponse, HttpEvent, HttpHandlerFn, HttpInterceptorFn, HttpRequest,
} from '@angular/common/http';
import { Injectable, computed, inject, signal } from '@angular/core';
import { Observable, catchError, finalize, firstValueFrom, from, of, shareReplay, switchMap, throwError } from 'rxjs';

import { Api, Me, TokenPair } from './api/client';

const EARLY_SECONDS = 30;
const REFRESH_LOCK = 'streamfn-refresh';

@Injectable({ providedIn: 'root' })
export class Session {
  private readonly api = inject(Api);
  private access: string | null = null;
  private expiresAt = 0;
  private refreshing: Observable<string | null> | null = null;

  readonly me = signal<Me | null>(null);
  readonly signedIn = computed(() => this.me() !== null);

  /** At start-up: pick up the session the cookie holds, if any. */
  async restore(): Promise<void> {
    if (await firstValueFrom(this.renew())) {
      this.me.set(await firstValueFrom(this.api.me()).catch(() => null));
    }
  }

  async start(pair: TokenPair): Promise<void> {
    this.store(pair);
    this.me.set(await firstValueFrom(this.api.me()));
  }

  async end(): Promise<void> {
    await firstValueFrom(this.api.logout()).catch(() => undefined);
    this.clear();
  }

  /** The access token to send now, refreshed first if it is about to expire. */
  token(): Observable<string | null> {
    if (this.access && Date.now() < this.expiresAt) {
      return of(this.access);
    }
    return this.access || this.me() ? this.renew() : of(null);
  }

  /** A new pair from the cookie (once, however many requests wait on it). */
  renew(): Observable<string | null> {
    if (!this.refreshing) {
      this.refreshing = from(exclusively(() => firstValueFrom(this.api.refresh()))).pipe(
        switchMap((pair) => {
          this.store(pair);
          return of(pair.access_token);
        }),
        catchError(() => {
          this.clear();
          return of(null);
        }),
        finalize(() => (this.refreshing = null)),
        shareReplay(1),
      );
    }
    return this.refreshing;
  }

  private store(pair: TokenPair): void {
    // The pair's refresh_token is for API clients; the browser's copy is the cookie.
    this.access = pair.access_token;
    this.expiresAt = Date.now() + (pair.expires_in - EARLY_SECONDS) * 1000;
  }

  private clear(): void {
    this.access = null;
    this.expiresAt = 0;
    this.me.set(null);
  }
}

/** Runs `work` while holding the refresh lock shared by this origin's tabs, where the
 *  browser has Web Locks. */
async function exclusively<T>(work: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  return locks ? await locks.request(REFRESH_LOCK, work) : await work();
}

const AUTH_PATHS = ['/api/auth/login', '/api/auth/register', '/api/auth/refresh'];

function withToken(request: HttpRequest<unknown>, token: string | null): HttpRequest<unknown> {
  return token ? request.clone({ setHeaders: { Authorization: `Bearer ${token}` } }) : request;
}

/** Adds the Bearer token to API calls on this origin; retries once after a refresh on 401. */
export const authInterceptor: HttpInterceptorFn = (
  request: HttpRequest<unknown>, next: HttpHandlerFn,
): Observable<HttpEvent<unknown>> => {
  const session = inject(Session);
  if (!request.url.startsWith('/api/') || AUTH_PATHS.includes(request.url)) {
    return next(request);
  }
  return session.token().pipe(
    switchMap((token) => next(withToken(request, token)).pipe(
      catchError((error: unknown) => {
        if (!(error instanceof HttpErrorResponse) || error.status !== 401 || !token) {
          return throwError(() => error);
        }
        return session.renew().pipe(switchMap((fresh) => next(withToken(request, fresh))));
      }),
    )),
  );
};
