// Every page of the console and its address. Each page is its own chunk, loaded when first visited,
// so the first page downloads only the shell and itself.
import type { RouteDefinition } from '@solidjs/router';
import { lazy } from 'solid-js';
import AuthCallback from './pages/auth-callback';

export const routes: RouteDefinition[] = [
  { path: '/auth/callback', component: AuthCallback },
  { path: '/', component: lazy(() => import('./pages/home')) },
  { path: '/organizations', component: lazy(() => import('./pages/organizations')) },
  { path: '/organizations/:org', component: lazy(() => import('./pages/organization')) },
  { path: '/organizations/:org/projects/:project', component: lazy(() => import('./pages/project')) },
  { path: '/pipeline-templates/:id', component: lazy(() => import('./pages/pipeline-template')) },
  { path: '/release-lifecycles/:id', component: lazy(() => import('./pages/release-lifecycle')) },
  { path: '/pipelines/:id', component: lazy(() => import('./pages/pipeline')) },
  { path: '/jobs/:id', component: lazy(() => import('./pages/job-log')) },
  { path: '/releases/:id', component: lazy(() => import('./pages/release')) },
  { path: '/agents', component: lazy(() => import('./pages/agents')) },
  { path: '/agents/:id', component: lazy(() => import('./pages/agent')) },
  { path: '/infrastructure', component: lazy(() => import('./pages/infrastructure')) },
  { path: '/admin', component: lazy(() => import('./pages/admin')) },
  { path: '/account', component: lazy(() => import('./pages/account')) },
  { path: '*404', component: lazy(() => import('./pages/not-found')) },
];
