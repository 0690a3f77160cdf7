import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { Api, ApiError } from '../api/client';
import { Session } from '../session';

@Component({
  selector: 'app-auth-page',
  imports: [FormsModule, RouterLink],
  template: `
    <main style="max-width: 420px">
      <h1>{{ register ? 'Create your account' : 'Log in' }}</h1>
      <form class="panel" (ngSubmit)="submit()" data-test="auth-form">
        <label for="username">{{ register ? 'Username' : 'Username or email' }}</label>
        <input id="username" name="username" [(ngModel)]="username" autocomplete="username" required />
        @if (fields()['username']) { <div class="field-error" data-test="error-username">{{ fields()['username'] }}</div> }
        @if (register) {
          <label for="email">Email</label>
          <input id="email" name="email" type="email" [(ngModel)]="email" autocomplete="email" required />
          @if (fields()['email']) { <div class="field-error" data-test="error-email">{{ fields()['email'] }}</div> }
          <label for="display_name">Display name</label>
          <input id="display_name" name="display_name" [(ngModel)]="displayName" />
          @if (fields()['display_name']) { <div class="field-error">{{ fields()['display_name'] }}</div> }
        }
        <label for="password">Password</label>
        <input id="password" name="password" type="password" [(ngModel)]="password"
               [attr.autocomplete]="register ? 'new-password' : 'current-password'" required />
        @if (fields()['password']) { <div class="field-error" data-test="error-password">{{ fields()['password'] }}</div> }
        @if (message()) { <p class="error" data-test="error">{{ message() }}</p> }
        <div class="row" style="margin-top: 16px">
          <button type="submit" [disabled]="busy()" data-test="submit">{{ register ? 'Sign up' : 'Log in' }}</button>
          <span class="spacer"></span>
          @if (register) { <a routerLink="/login">I have an account</a> }
          @else { <a routerLink="/register">Create an account</a> }
        </div>
      </form>
    </main>
  `,
})
export class AuthPage {
  private readonly api = inject(Api);
  private readonly session = inject(Session);
  private readonly router = inject(Router);
  protected readonly register = inject(ActivatedRoute).snapshot.data['mode'] === 'register';
  protected username = '';
  protected email = '';
  protected displayName = '';
  protected password = '';
  protected readonly fields = signal<Record<string, string>>({});
  protected readonly message = signal('');
  protected readonly busy = signal(false);

  async submit(): Promise<void> {
    this.busy.set(true);
    try {
      const pair = await firstValueFrom(this.register
        ? this.api.register({ username: this.username, email: this.email, password: this.password,
                              display_name: this.displayName || null })
        : this.api.login({ username: this.username, password: this.password }));
      await this.session.start(pair);
      await this.router.navigateByUrl(this.register ? '/dashboard' : '/');
    } catch (error) {
      const problem = ApiError.of(error);
      this.fields.set(problem.fields);
      // A message that belongs to no field shows under the form.
      this.message.set(Object.keys(problem.fields).length ? '' : problem.message);
    } finally {
      this.busy.set(false);
    }
  }
}
