import { type Example, ex } from './example.js'

const SIGN_IN_PAGE =
  '<!doctype html>…<h1>Sign-in failed</h1><p>The identity provider cannot be reached just now. Try again in a minute.</p>…'

/** Examples by operationId and status: the console's sign-in. */
export const AUTH_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
  signInOptions: {
    '200': {
      provider: ex('sign-in through the identity provider offered', { sign_in_url: '/auth/login' }),
      keys: ex('admin keys only', { sign_in_url: null }),
    },
  },
  signIn: {
    '302': { redirect: ex("to the provider's login page", null) },
    '400': { page: ex('return_to is not a console path', SIGN_IN_PAGE) },
    '404': { page: ex('no OIDC_CLIENT_ID', SIGN_IN_PAGE) },
    '503': { page: ex('the provider cannot be reached', SIGN_IN_PAGE) },
  },
  signInCallback: {
    '302': { redirect: ex('to the console, signed in', null) },
    '400': { page: ex('the state does not match this browser', SIGN_IN_PAGE) },
    '403': { page: ex('signed in without a creditgate role', SIGN_IN_PAGE) },
    '404': { page: ex('no OIDC_CLIENT_ID', SIGN_IN_PAGE) },
    '503': { page: ex("the provider's token endpoint refused the code", SIGN_IN_PAGE) },
  },
  whoAmI: {
    '200': {
      person: ex('a person signed in to the console', {
        sub: 'alice',
        name: 'Alice Approver',
        roles: ['approver'],
        via: 'oidc',
        csrf_token: 'kB3v0n6Q2dJ9yXfP1sLr8TqW5eUaZmHc4Gi7oYbNtVw',
      }),
      key: ex('an admin key', { sub: 'ops', name: 'ops', roles: ['admin'], via: 'key' }),
    },
  },
  signOut: {
    '200': {
      ended: ex('the session ended on the server', {
        signed_out: true,
        end_session_url: 'https://idp.example.com/session/end?client_id=creditgate-console',
      }),
    },
  },
}
