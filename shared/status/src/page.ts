// The status page (public/status.html: one file, no build step) and the two routes that serve it:
// GET / the page, GET /status/cluster the document it draws (collectClusterStatus).
import { readFileSync } from 'node:fs';
import type { ClusterStatus } from './cluster.ts';

let html: string | undefined;

export function statusPageHtml(): string {
  html ??= readFileSync(new URL('../public/status.html', import.meta.url), 'utf8');
  return html;
}

export interface PageResponse {
  contentType: string;
  body: string;
}

/** The routes for an HTTP endpoint (runtime's startHttp `pages`). */
export function statusPageRoutes(
  view: () => Promise<ClusterStatus>,
): Record<string, () => Promise<PageResponse>> {
  return {
    '/': async () => ({ contentType: 'text/html; charset=utf-8', body: statusPageHtml() }),
    '/status/cluster': async () => ({ contentType: 'application/json', body: JSON.stringify(await view()) }),
  };
}
