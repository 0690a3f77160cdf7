// The typed API client. Every shape comes from schema.ts, generated from the platform's
// own OpenAPI document (`python -m local.web --api`), so a renamed field fails the build.
import { HttpClient, HttpErrorResponse, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import { components } from './schema';

type S = components['schemas'];
export type Stream = S['Stream'];
export type StreamPage = S['StreamPage'];
export type PublicUser = S['PublicUser'];
export type Me = S['Me'];
export type TokenPair = S['TokenPair'];
export type FollowState = S['FollowState'];
export type FollowPage = S['FollowPage'];
export type StreamKey = S['StreamKey'];
export type StreamChanges = S['StreamChanges'];
export type StreamDetails = S['StreamDetails'];
export type StreamAnalytics = S['StreamAnalytics'];
export type ChannelAnalytics = S['ChannelAnalytics'];
export type StreamRecommendations = S['StreamRecommendations'];
export type ViewReport = S['ViewReport'];
export type ViewAccepted = S['ViewAccepted'];
export type RegisterRequest = S['RegisterRequest'];
export type LoginRequest = S['LoginRequest'];
export type Inbox = S['Inbox'];
export type Notification = S['NotificationView'];
export type MarkRead = S['MarkRead'];
export type Unread = S['Unread'];
export type Category = NonNullable<StreamDetails['category']>;
export type ChatMessage = S['Message'];
export type ChatHistory = S['History'];
export type ChatSettings = S['RoomSettings'];
export type ChatSettingsChange = S['SettingsChange'];
export type ChatBan = S['Ban'];
export type ChatModerators = S['Moderators'];
export type ReplayChat = S['ReplayChat'];
export type UserSummary = ChatMessage['user'];
export type Clip = S['ClipView'];
export type ClipPage = S['ClipPage'];
export type ClipRequest = S['ClipRequest'];

/** An API error as the platform sends it: a code, a message, and per-field details. */
export class ApiError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly fields: Record<string, string>,
    readonly details: Record<string, unknown>[] = [],
    readonly retryAfter: number | null = null,
  ) {}

  static of(error: unknown): ApiError {
    if (!(error instanceof HttpErrorResponse)) {
      return new ApiError(0, 'network', 'Something went wrong.', {});
    }
    const body = error.error?.error;
    if (!body) {
      return new ApiError(error.status, 'network', 'The service could not be reached. Try again.', {});
    }
    const fields: Record<string, string> = {};
    for (const detail of body.details ?? []) {
      const field = String(detail?.field ?? '').split('.')[0];
      if (field && !fields[field]) {
        fields[field] = detail.message ?? body.message;
      }
    }
    const byCode: Record<string, string> = {
      username_taken: 'username', email_taken: 'email', password_too_long: 'password',
    };
    const field = byCode[body.code];
    if (field && !fields[field]) {
      fields[field] = body.message;
    }
    const retryAfter = Number(error.headers?.get('Retry-After')) || null;
    return new ApiError(error.status, body.code, body.message, fields, body.details ?? [], retryAfter);
  }
}

function chat(channel: string): string {
  return `/api/chat/${encodeURIComponent(channel)}`;
}

@Injectable({ providedIn: 'root' })
export class Api {
  private readonly http = inject(HttpClient);

  register(body: RegisterRequest): Observable<TokenPair> {
    return this.http.post<TokenPair>('/api/auth/register', body);
  }
  login(body: LoginRequest): Observable<TokenPair> {
    return this.http.post<TokenPair>('/api/auth/login', body);
  }
  /** A new pair for the session cookie's refresh token (the browser sends the cookie). */
  refresh(): Observable<TokenPair> {
    return this.http.post<TokenPair>('/api/auth/refresh', {});
  }
  logout(): Observable<unknown> {
    return this.http.post('/api/auth/logout', null);
  }
  updateProfile(changes: S['ProfileUpdate']): Observable<Me> {
    return this.http.patch<Me>('/api/users/me', changes);
  }
  me(): Observable<Me> {
    return this.http.get<Me>('/api/auth/me');
  }

  liveStreams(category?: Category): Observable<StreamPage> {
    let params = new HttpParams().set('live', 'true').set('limit', 48);
    if (category) {
      params = params.set('category', category);
    }
    return this.http.get<StreamPage>('/api/streams', { params });
  }
  recommendedStreams(): Observable<StreamRecommendations> {
    return this.http.get<StreamRecommendations>('/api/recommendations/streams', {
      params: { limit: 12 },
    });
  }
  stream(id: string): Observable<Stream> {
    return this.http.get<Stream>(`/api/streams/${encodeURIComponent(id)}`);
  }
  updateStream(id: string, changes: StreamChanges): Observable<Stream> {
    return this.http.patch<Stream>(`/api/streams/${encodeURIComponent(id)}`, changes);
  }
  createStream(details: StreamDetails): Observable<Stream> {
    return this.http.post<Stream>('/api/streams', details);
  }
  rotateKey(): Observable<StreamKey> {
    return this.http.post<StreamKey>('/api/streams/key', null);
  }
  createClip(streamId: string, request: ClipRequest): Observable<Clip> {
    return this.http.post<Clip>(`/api/streams/${encodeURIComponent(streamId)}/clips`, request);
  }
  clip(id: string): Observable<Clip> {
    return this.http.get<Clip>(`/api/clips/${encodeURIComponent(id)}`);
  }
  deleteClip(id: string): Observable<unknown> {
    return this.http.delete(`/api/clips/${encodeURIComponent(id)}`);
  }
  channelClips(username: string): Observable<ClipPage> {
    return this.http.get<ClipPage>(`/api/users/${encodeURIComponent(username)}/clips`, {
      params: { limit: 24 },
    });
  }
  channelStreams(username: string): Observable<StreamPage> {
    return this.http.get<StreamPage>(`/api/users/${encodeURIComponent(username)}/streams`, {
      params: { limit: 50 },
    });
  }
  streamAnalytics(id: string): Observable<StreamAnalytics> {
    return this.http.get<StreamAnalytics>(`/api/streams/${encodeURIComponent(id)}/analytics`);
  }
  channelAnalytics(): Observable<ChannelAnalytics> {
    return this.http.get<ChannelAnalytics>('/api/analytics/channel');
  }
  recordView(id: string, report: ViewReport): Observable<ViewAccepted> {
    return this.http.post<ViewAccepted>(`/api/streams/${encodeURIComponent(id)}/views`, report);
  }

  profile(username: string): Observable<PublicUser> {
    return this.http.get<PublicUser>(`/api/users/${encodeURIComponent(username)}`);
  }
  followStatus(username: string): Observable<FollowState> {
    return this.http.get<FollowState>(`/api/users/${encodeURIComponent(username)}/follow`);
  }
  follow(username: string, following: boolean): Observable<FollowState> {
    const url = `/api/users/${encodeURIComponent(username)}/follow`;
    return following ? this.http.put<FollowState>(url, null) : this.http.delete<FollowState>(url);
  }
  followers(username: string): Observable<FollowPage> {
    return this.http.get<FollowPage>(`/api/users/${encodeURIComponent(username)}/followers`);
  }
  following(username: string): Observable<FollowPage> {
    return this.http.get<FollowPage>(`/api/users/${encodeURIComponent(username)}/following`);
  }
  chatHistory(channel: string): Observable<ChatHistory> {
    return this.http.get<ChatHistory>(`${chat(channel)}/messages`, { params: { limit: 100 } });
  }
  /** The room's events (Server-Sent Events), after `lastEventId` when given. */
  chatEventsUrl(channel: string, lastEventId: string | null): string {
    const query = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : '';
    return `${chat(channel)}/events${query}`;
  }
  sendChat(channel: string, text: string): Observable<ChatMessage> {
    return this.http.post<ChatMessage>(`${chat(channel)}/messages`, { text });
  }
  deleteChat(channel: string, id: number): Observable<unknown> {
    return this.http.delete(`${chat(channel)}/messages/${id}`);
  }
  /** A ban, or a timeout of `durationSeconds`. */
  banFromChat(channel: string, username: string, durationSeconds: number | null): Observable<ChatBan> {
    return this.http.put<ChatBan>(`${chat(channel)}/bans/${encodeURIComponent(username)}`,
                                  { duration_seconds: durationSeconds });
  }
  chatSettings(channel: string): Observable<ChatSettings> {
    return this.http.get<ChatSettings>(`${chat(channel)}/settings`);
  }
  changeChatSettings(channel: string, change: ChatSettingsChange): Observable<ChatSettings> {
    return this.http.patch<ChatSettings>(`${chat(channel)}/settings`, change);
  }
  chatModerators(channel: string): Observable<ChatModerators> {
    return this.http.get<ChatModerators>(`${chat(channel)}/moderators`);
  }
  /** The chat of a stream as it happened: from `since`, or after `cursor`. */
  replayChat(streamId: string, since: string | null, cursor: string | null): Observable<ReplayChat> {
    let params = new HttpParams().set('limit', 100);
    if (cursor) {
      params = params.set('cursor', cursor);
    } else if (since) {
      params = params.set('since', since);
    }
    return this.http.get<ReplayChat>(`/api/streams/${encodeURIComponent(streamId)}/chat`, { params });
  }

  notifications(): Observable<Inbox> {
    return this.http.get<Inbox>('/api/notifications', { params: { limit: 20 } });
  }
  markRead(which: MarkRead): Observable<Unread> {
    return this.http.post<Unread>('/api/notifications/read', which);
  }
}
