import { spawnSync } from 'node:child_process'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { openServer } from '../../src/server.js'
import { KEYS } from '../helpers/rules-folder.js'

/** Starting the service from its environment: what stops start-up, and sandbox mode. */

const SHOP = 'shop-key-0123456789abcdef'
const ADMIN = 'ops-key-0123456789abcdef0'

t.test('a wrong value: the server exits 1 with the one line naming it, and nothing else', async (t) => {
  const run = spawnSync(process.execPath, ['dist/server.js'], { env: { ...process.env, PORT: 'abc' }, encoding: 'utf8', timeout: 20_000 })
  t.equal(run.status, 1)
  t.match(run.stderr, /^creditgate: invalid configuration: PORT .*\n$/)
  t.equal(run.stderr.trim().split('\n').length, 1)
  t.equal(run.stdout, '')
})

t.test('a bad rule file stops start-up with the file and JSON path', async (t) => {
  const dir = t.testdir({
    'good.json': JSON.stringify({
      name: 'good',
      conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }] },
      event: { type: 'block', params: { code: 'GOOD', message: 'ok' } },
    }),
    'typo.json': JSON.stringify({
      name: 'typo',
      conditions: { all: [{ fact: 'outstandng_bcy', operator: 'greaterThan', value: 1 }] },
      event: { type: 'block', params: { code: 'TYPO', message: 'ok' } },
    }),
  })
  const run = spawnSync(process.execPath, ['dist/server.js'], {
    env: { ...process.env, RULES_DIR: dir, PORT: '0' },
    encoding: 'utf8',
    timeout: 20_000,
  })
  t.equal(run.status, 1)
  t.match(run.stderr, /typo\.json \$\.conditions\.all\[0\]\.fact: unknown fact "outstandng_bcy"/)
})

t.test('sandbox mode: creditgate is configured against the bundled sandbox as an operator would', async (t) => {
  const { server, config } = await openServer({ LOG_LEVEL: 'silent' })
  t.teardown(() => server.close())
  t.equal(config.zoho.mode, 'sandbox')
  t.equal(config.zoho.organizationId, '10234695')
  t.same(config.zoho.organizationIds, ['10234695', '10234696'], 'both sandbox organizations may be asked about')
  t.match(config.zoho.accountsUrl, /^http:\/\/127\.0\.0\.1:\d+$/, 'on a loopback port')
  const second = await openServer({ LOG_LEVEL: 'silent', ZOHO_ORGANIZATION_ID: '10234696' })
  t.teardown(() => second.server.close())
  t.equal(second.config.zoho.organizationId, '10234696', 'what the environment sets wins')
})

// Issue 13, finding 4 (failed before its fix).
t.test('NODE_ENV=production without Zoho credentials does not start, unless the sandbox is asked for', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', ...KEYS }), ConfigError)
  const { server, config } = await openServer({ NODE_ENV: 'production', ZOHO_MODE: 'sandbox', LOG_LEVEL: 'silent', ...KEYS })
  t.teardown(() => server.close())
  t.equal(config.zoho.mode, 'sandbox')
  t.match((await server.inject({ url: '/readyz' })).json().checks.zoho.detail, /^bundled sandbox at /)
})

// Issue 31, finding 6 (failed before its fix).
t.test('the same key name as a caller and an admin is refused at start-up; the default deployment starts', async (t) => {
  const env = { ...process.env, PORT: '0', API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN},shop:another-key-0123456789` }
  // A server that starts (and listens) instead is stopped after 20 s: the test then fails.
  const run = spawnSync(process.execPath, ['dist/server.js'], { env, encoding: 'utf8', timeout: 20_000 })
  t.equal(run.status, 1)
  t.equal(
    run.stderr,
    'creditgate: invalid configuration: ADMIN_API_KEYS the name "shop" is also in API_KEYS; every key needs a name of its own\n',
  )
  t.ok(loadConfig({ API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN}` }), 'one caller key and one admin key, as documented')
})
