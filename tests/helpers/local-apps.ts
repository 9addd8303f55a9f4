/**
 * Origins served by an app in this test process (tests/helpers/in-process.ts): `call()` hands
 * their requests to the app's fetch instead of the network. Kept apart so that helpers which
 * send requests need not load Berth's sources.
 */
export type AppFetch = (request: Request) => Promise<Response> | Response;

const apps = new Map<string, AppFetch>();

export function serveLocally(origin: string, fetch: AppFetch): void {
  apps.set(origin, fetch);
}

export function stopServingLocally(origin: string): void {
  apps.delete(origin);
}

/** The in-process app serving `url`'s origin, or undefined for a real server. */
export function localApp(url: URL): AppFetch | undefined {
  return apps.get(url.origin);
}
