// `npm run idp`: the test identity provider (panva's oidc-provider, as the tests run it) on a
// loopback port, for a local try of the bearer JWTs and the console's sign-in. Prints the
// settings to start creditgate with, and a token per role. Development only: any password signs in.
import { CLIENT_ROLES, CLIENT_SECRET, CONSOLE_CLIENT, PEOPLE, startIdp } from '../test/helpers/idp.js'

const idp = await startIdp({ teardown: () => {} })
const env = { ...idp.env, OIDC_CLIENT_ID: CONSOLE_CLIENT, OIDC_CLIENT_SECRET: CLIENT_SECRET }
process.stdout.write(`identity provider at ${idp.issuer} (stop with Ctrl-C)\n\nstart creditgate with:\n`)
process.stdout.write(
  `  ${Object.entries(env)
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ')} npm start\n\n`,
)
process.stdout.write(
  `console sign-in (any password): ${Object.entries(PEOPLE)
    .map(([login, p]) => `${login} (${p.roles.join(', ')})`)
    .join(', ')}\n\nbearer tokens (10 minutes):\n`,
)
for (const client of Object.keys(CLIENT_ROLES)) process.stdout.write(`  ${client}: ${await idp.token(client)}\n`)
