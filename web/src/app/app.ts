import { Component, inject } from '@angular/core';
import { Router, RouterLink, RouterOutlet } from '@angular/router';

import { NotificationsMenu } from './pages/notifications-menu';
import { Session } from './session';

@Component({
  selector: 'app-root',
  imports: [NotificationsMenu, RouterOutlet, RouterLink],
  template: `
    <header>
      <a routerLink="/" class="brand">streamfn</a>
      <span class="spacer"></span>
      @if (session.me(); as me) {
        <app-notifications-menu />
        <a routerLink="/dashboard" data-test="nav-dashboard">Dashboard</a>
        <a [routerLink]="['/channel', me.username]" data-test="nav-me">{{ me.display_name }}</a>
        <button class="secondary" data-test="logout" (click)="logout()">Log out</button>
      } @else {
        <a routerLink="/login" data-test="nav-login">Log in</a>
        <a routerLink="/register" class="button" data-test="nav-register">Sign up</a>
      }
    </header>
    <router-outlet />
  `,
  styles: `
    header { display: flex; gap: 16px; align-items: center; padding: 10px 20px;
      background: var(--panel); border-bottom: 1px solid var(--line); }
    .brand { font-weight: 800; font-size: 18px; color: var(--accent); }
    .spacer { flex: 1; }
  `,
})
export class App {
  protected readonly session = inject(Session);
  private readonly router = inject(Router);

  async logout(): Promise<void> {
    await this.session.end();
    await this.router.navigateByUrl('/');
  }
}
