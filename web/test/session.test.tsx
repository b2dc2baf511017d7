// The session's reasons: signing out shows "signed out" even when a request that was still in flight
// comes back refused afterwards; a refusal while signed in ends the session as expired.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { completeSignIn, endSession, isSignedIn, signedOutReason, signOut } from '../src/auth/session';

function tokenAnswer(): Response {
  return new Response(JSON.stringify({ access_token: 'at', refresh_token: 'phr_x', expires_in: 300, token_type: 'Bearer' }), {
    headers: { 'content-type': 'application/json' },
  });
}

async function signIn(): Promise<void> {
  sessionStorage.setItem('phobos.pendingSignIn', JSON.stringify({ verifier: 'v'.repeat(43), state: 's1', returnTo: '/x' }));
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => tokenAnswer()),
  );
  expect(await completeSignIn(new URLSearchParams({ code: 'c', state: 's1' }))).toBe('/x');
  expect(isSignedIn()).toBe(true);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the session', () => {
  it('keeps "signed out" when a request in flight is refused after the user signed out', async () => {
    await signIn();
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(null, { status: 200 })),
    );
    await signOut();
    expect(signedOutReason()).toBe('signed-out');
    endSession('expired');
    expect(signedOutReason()).toBe('signed-out');
    expect(isSignedIn()).toBe(false);
  });

  it('ends a live session as expired when the API refuses its token', async () => {
    await signIn();
    endSession('expired');
    expect(isSignedIn()).toBe(false);
    expect(signedOutReason()).toBe('expired');
  });

  it.each(['//evil.example/x', '/\\evil.example/x', '/.//evil.example/x', 'https://evil.example/x', 'javascript:alert(1)'])(
    'returns to the home page, never to %s, after signing in',
    async (returnTo) => {
      sessionStorage.setItem('phobos.pendingSignIn', JSON.stringify({ verifier: 'v'.repeat(43), state: 's1', returnTo }));
      vi.stubGlobal(
        'fetch',
        vi.fn(async () => tokenAnswer()),
      );
      expect(await completeSignIn(new URLSearchParams({ code: 'c', state: 's1' }))).toBe('/');
    },
  );

  it('returns to a path of its own origin with its query and fragment', async () => {
    sessionStorage.setItem('phobos.pendingSignIn', JSON.stringify({ verifier: 'v'.repeat(43), state: 's1', returnTo: '/orgs/a?tab=x#y' }));
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => tokenAnswer()),
    );
    expect(await completeSignIn(new URLSearchParams({ code: 'c', state: 's1' }))).toBe('/orgs/a?tab=x#y');
  });

  it('refuses a callback whose state is not the one this tab sent', async () => {
    sessionStorage.setItem('phobos.pendingSignIn', JSON.stringify({ verifier: 'v'.repeat(43), state: 's1', returnTo: '/x' }));
    await expect(completeSignIn(new URLSearchParams({ code: 'c', state: 'other' }))).rejects.toThrow(/not started here/);
    expect(sessionStorage.getItem('phobos.pendingSignIn')).toBeNull();
  });
});
