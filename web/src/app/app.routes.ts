import { inject } from '@angular/core';
import { Router, Routes } from '@angular/router';

import { AuthPage } from './pages/auth-page';
import { ChannelPage } from './pages/channel-page';
import { ClipPage } from './pages/clip-page';
import { DashboardPage } from './pages/dashboard-page';
import { HomePage } from './pages/home-page';
import { StreamPage } from './pages/stream-page';
import { Session } from './session';

const signedIn = () => inject(Session).signedIn() || inject(Router).parseUrl('/login');

export const routes: Routes = [
  { path: '', component: HomePage, title: 'streamfn' },
  { path: 'login', component: AuthPage, data: { mode: 'login' }, title: 'Log in · streamfn' },
  { path: 'register', component: AuthPage, data: { mode: 'register' }, title: 'Sign up · streamfn' },
  { path: 'streams/:id', component: StreamPage, title: 'Watch · streamfn' },
  { path: 'clips/:id', component: ClipPage, title: 'Clip · streamfn' },
  { path: 'channel/:username', component: ChannelPage, title: 'Channel · streamfn' },
  { path: 'dashboard', component: DashboardPage, canActivate: [signedIn], title: 'Dashboard · streamfn' },
  { path: '**', redirectTo: '' },
];
