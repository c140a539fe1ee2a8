import t from 'tap'
import { ConfigError, DATA_CENTRES, loadConfig } from '../../src/config.js'

/** The environment, parsed: defaults, every variable's accepted values, and the one line a wrong one gets. */

t.test('defaults are the ones in docs/contract.md', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    port: 3000,
    host: '127.0.0.1',
    logLevel: 'info',
    redis: undefined,
    zoho: {
      mode: 'sandbox',
      dc: 'com',
      accountsUrl: 'https://accounts.zoho.com',
      apiBaseUrl: 'https://www.zohoapis.com/books/v3',
      credentials: undefined,
      organizationId: undefined,
      organizationIds: undefined,
      timeoutMs: 5000,
      requestsPerMinute: 90,
      maxConcurrency: 8,
      reserve: 23,
    },
    cache: { ttlSeconds: 300, staleTtlSeconds: 86400 },
    rulesDir: './rules',
    rulesShadowDir: undefined,
    decisionHistoryMax: 100_000,
    rulesVerifySample: 0.01,
    webhookSecret: undefined,
    failMode: 'closed',
    trustProxy: false,
  })
  t.same(config.apiKeys, [])
  t.same(config.adminApiKeys, [])
  t.ok(Object.isFrozen(config.zoho), 'frozen')
})

t.test('all eight data centres pick their accounts and API hosts', async (t) => {
  t.same(Object.keys(DATA_CENTRES).sort(), ['ca', 'com', 'com.au', 'com.cn', 'eu', 'in', 'jp', 'sa'])
  const expected: Record<string, [string, string]> = {
    com: ['https://accounts.zoho.com', 'https://www.zohoapis.com/books/v3'],
    eu: ['https://accounts.zoho.eu', 'https://www.zohoapis.eu/books/v3'],
    in: ['https://accounts.zoho.in', 'https://www.zohoapis.in/books/v3'],
    'com.au': ['https://accounts.zoho.com.au', 'https://www.zohoapis.com.au/books/v3'],
    jp: ['https://accounts.zoho.jp', 'https://www.zohoapis.jp/books/v3'],
    ca: ['https://accounts.zohocloud.ca', 'https://www.zohoapis.ca/books/v3'],
    'com.cn': ['https://accounts.zoho.com.cn', 'https://www.zohoapis.com.cn/books/v3'],
    sa: ['https://accounts.zoho.sa', 'https://www.zohoapis.sa/books/v3'],
  }
  for (const [dc, [accounts, api]] of Object.entries(expected)) {
    const config = loadConfig({ ZOHO_DC: dc })
    t.equal(config.zoho.accountsUrl, accounts, dc)
    t.equal(config.zoho.apiBaseUrl, api, dc)
  }
  const overridden = loadConfig({
    ZOHO_DC: 'eu',
    ZOHO_ACCOUNTS_URL: 'http://127.0.0.1:4555/',
    ZOHO_API_BASE_URL: 'http://127.0.0.1:4555/books/v3',
  })
  t.equal(overridden.zoho.accountsUrl, 'http://127.0.0.1:4555')
  t.equal(overridden.zoho.apiBaseUrl, 'http://127.0.0.1:4555/books/v3')
})

t.test('credentials, organizations and keys parse', async (t) => {
  const config = loadConfig({
    ZOHO_CLIENT_ID: 'id',
    ZOHO_CLIENT_SECRET: 'secret',
    ZOHO_REFRESH_TOKEN: 'refresh',
    ZOHO_ORGANIZATION_ID: '60001234567',
    ZOHO_ORGANIZATION_IDS: '60001234567, 60007654321',
    API_KEYS: 'shop:0123456789abcdef0123, erp:fedcba9876543210fedc',
    ADMIN_API_KEYS: 'ops:ops-key-0123456789abcdef',
    FAIL_MODE: 'review',
  })
  t.same(config.zoho.credentials, { clientId: 'id', clientSecret: 'secret', refreshToken: 'refresh' })
  t.same(config.zoho.organizationIds, ['60001234567', '60007654321'])
  t.same(
    config.apiKeys.map((k) => k.name),
    ['shop', 'erp'],
  )
  t.equal(config.apiKeys[0]?.key, '0123456789abcdef0123')
  t.equal(config.failMode, 'review')
  t.equal(loadConfig({ PORT: '' }).port, 3000, 'an empty variable counts as unset')
})

t.test('a wrong value stops start-up with one line naming the variable', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /^invalid configuration: PORT /],
    [{ PORT: '70000' }, /PORT/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ REDIS_URL: 'http://localhost:6379' }, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ ZOHO_DC: 'us' }, /ZOHO_DC/],
    [{ ZOHO_ACCOUNTS_URL: 'ftp://x' }, /ZOHO_ACCOUNTS_URL must be an http\(s\) URL/],
    [{ ZOHO_ORGANIZATION_ID: '12ab' }, /ZOHO_ORGANIZATION_ID must be 1 to 19 digits/],
    [{ ZOHO_ORGANIZATION_IDS: '1,x' }, /ZOHO_ORGANIZATION_IDS/],
    [{ ZOHO_ORGANIZATION_ID: '5', ZOHO_ORGANIZATION_IDS: '6,7' }, /ZOHO_ORGANIZATION_IDS must include ZOHO_ORGANIZATION_ID/],
    [{ ZOHO_TIMEOUT_MS: '-1' }, /ZOHO_TIMEOUT_MS/],
    [{ ZOHO_REQUESTS_PER_MINUTE: '150' }, /ZOHO_REQUESTS_PER_MINUTE/],
    [{ ZOHO_MAX_CONCURRENCY: '0' }, /ZOHO_MAX_CONCURRENCY/],
    [{ CONTACT_CACHE_TTL_SECONDS: 'soon' }, /CONTACT_CACHE_TTL_SECONDS/],
    [{ CONTACT_CACHE_TTL_SECONDS: '600', CONTACT_STALE_TTL_SECONDS: '60' }, /CONTACT_STALE_TTL_SECONDS must not be less/],
    [{ API_KEYS: 'nocolon' }, /API_KEYS entry 1 must be name:key/],
    [{ API_KEYS: 'shop:short' }, /API_KEYS .*at least 16 characters/],
    [{ API_KEYS: 'a:0123456789abcdef,a:0123456789abcdeg' }, /API_KEYS the name "a" is used twice/],
    [{ ADMIN_API_KEYS: 'ops' }, /ADMIN_API_KEYS/],
    [
      { API_KEYS: 'shop:0123456789abcdef', ADMIN_API_KEYS: 'ops:fedcba9876543210,shop:0123456789abcdeX' },
      /^invalid configuration: ADMIN_API_KEYS the name "shop" is also in API_KEYS/,
    ],
    [{ WEBHOOK_SECRET: 'short' }, /WEBHOOK_SECRET must be at least 16/],
    [{ FAIL_MODE: 'open' }, /FAIL_MODE/],
    [{ RULES_VERIFY_SAMPLE: '2' }, /RULES_VERIFY_SAMPLE/],
    [{ RULES_VERIFY_SAMPLE: 'some' }, /RULES_VERIFY_SAMPLE/],
    [{ RULES_VERIFY_SAMPLE: '-0.1' }, /RULES_VERIFY_SAMPLE/],
    [{ ZOHO_CLIENT_ID: 'id' }, /ZOHO_CLIENT_SECRET is required when ZOHO_CLIENT_ID is set/],
    [{ ZOHO_CLIENT_ID: 'id', ZOHO_CLIENT_SECRET: 's', ZOHO_REFRESH_TOKEN: 'r' }, /ZOHO_ORGANIZATION_ID is required/],
    [{ NODE_ENV: 'production' }, /ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN are required when NODE_ENV=production/],
    [{ NODE_ENV: 'production', ZOHO_MODE: 'sandbox' }, /API_KEYS is required when NODE_ENV=production/],
    [{ ZOHO_MODE: 'zoho' }, /ZOHO_MODE=zoho needs ZOHO_CLIENT_ID/],
    [{ ZOHO_MODE: 'live' }, /ZOHO_MODE/],
    [{ ZOHO_CALLER_RESERVE: '-1' }, /ZOHO_CALLER_RESERVE/],
    [{ ZOHO_CALLER_RESERVE: '90' }, /ZOHO_CALLER_RESERVE \(90\) must be less than ZOHO_REQUESTS_PER_MINUTE \(90\)/],
    [{ ZOHO_REQUESTS_PER_MINUTE: '10', ZOHO_CALLER_RESERVE: '12' }, /ZOHO_CALLER_RESERVE \(12\) must be less than/],
    [
      { TRUST_PROXY: 'true' },
      /TRUST_PROXY must be false or a comma list of the proxies' addresses, CIDR ranges, loopback, linklocal or uniquelocal \(not "true"\)/,
    ],
    [{ TRUST_PROXY: '2' }, /TRUST_PROXY .*\(not "2"\)/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY .*\(not "10.0.0.0\/33"\)/],
    [{ TRUST_PROXY: '10.0.0.1/8/8' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: 'fd00::/129' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: ',' }, /TRUST_PROXY/],
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  try {
    loadConfig({ API_KEYS: 'shop:secret-key-that-is-long-enough,broken' })
    t.fail('expected a ConfigError')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    t.notMatch((err as Error).message, 'secret-key-that-is-long-enough', 'never the key itself')
    t.equal((err as Error).message.split('\n').length, 1, 'one line')
  }
})

t.test('the caller reserve defaults to a quarter of the budget, rounded up, and leaves background work at least one call', async (t) => {
  t.equal(loadConfig({ ZOHO_REQUESTS_PER_MINUTE: '100' }).zoho.reserve, 25)
  t.equal(loadConfig({ ZOHO_REQUESTS_PER_MINUTE: '50' }).zoho.reserve, 13)
  t.equal(loadConfig({ ZOHO_REQUESTS_PER_MINUTE: '1' }).zoho.reserve, 0)
  t.equal(loadConfig({ ZOHO_REQUESTS_PER_MINUTE: '2' }).zoho.reserve, 1)
  t.equal(loadConfig({ ZOHO_CALLER_RESERVE: '0' }).zoho.reserve, 0)
  t.equal(loadConfig({ ZOHO_CALLER_RESERVE: '89' }).zoho.reserve, 89)
})

t.test('TRUST_PROXY: the proxies whose X-Forwarded-For is believed', async (t) => {
  t.same(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false)
  t.same(loadConfig({ TRUST_PROXY: ' ' }).trustProxy, false, 'blank is unset')
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,fd00::/8,::1,loopback,uniquelocal' }).trustProxy, [
    '10.0.0.5',
    '10.1.0.0/16',
    'fd00::/8',
    '::1',
    'loopback',
    'uniquelocal',
  ])
})

t.test('Redis: one server, a master through Sentinel, or a Cluster', async (t) => {
  t.same(loadConfig({ REDIS_URL: 'rediss://app:pw@redis.internal:6380/2' }).redis, {
    mode: 'url',
    url: 'rediss://app:pw@redis.internal:6380/2',
  })
  t.same(loadConfig({ REDIS_SENTINELS: ' s1:26379, 10.0.0.2:26379 ,[::1]:26380', REDIS_SENTINEL_NAME: 'creditgate' }).redis, {
    mode: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: '10.0.0.2', port: 26379 },
      { host: '::1', port: 26380 },
    ],
    name: 'creditgate',
    username: undefined,
    password: undefined,
    tls: false,
  })
  t.same(loadConfig({ REDIS_CLUSTER_NODES: 'rediss://app:p%40ss@n1:7000,rediss://app:p%40ss@n2:7001' }).redis, {
    mode: 'cluster',
    nodes: [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ],
    username: 'app',
    password: 'p@ss',
    tls: true,
  })
  t.same(loadConfig({ REDIS_CLUSTER_NODES: 'redis://:secret@n1:7000' }).redis, {
    mode: 'cluster',
    nodes: [{ host: 'n1', port: 7000 }],
    username: undefined,
    password: 'secret',
    tls: false,
  })
  const cases: [Record<string, string>, RegExp][] = [
    [
      { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' },
      /^invalid configuration: set only one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES \(REDIS_URL and REDIS_CLUSTER_NODES are set\)$/,
    ],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_NODES: 'b:7000', REDIS_SENTINEL_NAME: 'm' }, /set only one of/],
    [{ REDIS_SENTINELS: 'a:26379' }, /REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/],
    [{ REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not/],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'my master' }, /REDIS_SENTINEL_NAME must be the master name/],
    [{ REDIS_SENTINELS: 'a', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS entry 1 must be host:port or redis\[s\]:\/\//],
    [{ REDIS_CLUSTER_NODES: 'a:7000,b:99999' }, /REDIS_CLUSTER_NODES entry 2 must be host:port/],
    [{ REDIS_CLUSTER_NODES: 'http://a:7000' }, /REDIS_CLUSTER_NODES entry 1/],
    [{ REDIS_CLUSTER_NODES: 'redis://a:7000/3' }, /REDIS_CLUSTER_NODES entry 1/],
    [{ REDIS_CLUSTER_NODES: ',' }, /REDIS_CLUSTER_NODES must list 1 to 64 host:port entries/],
    [{ REDIS_CLUSTER_NODES: Array.from({ length: 65 }, (_, i) => `n${i}:7000`).join(',') }, /must list 1 to 64/],
    [
      { REDIS_CLUSTER_NODES: 'redis://:one@a:7000,redis://:two@b:7000' },
      /REDIS_CLUSTER_NODES entries must all use the same scheme and credentials/,
    ],
    [{ REDIS_CLUSTER_NODES: 'rediss://a:7000,redis://b:7000' }, /same scheme/],
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  try {
    loadConfig({ REDIS_CLUSTER_NODES: 'redis://:hunter2-secret@a:7000,redis://:other@b' })
    t.fail('expected a ConfigError')
  } catch (err) {
    t.notMatch((err as Error).message, 'hunter2', 'never the password')
  }
})

// Issue 13, finding 3 (failed before its fix).
t.test('API_KEYS="," is a configuration error, not an open API', async (t) => {
  for (const env of [{ API_KEYS: ',' }, { NODE_ENV: 'production', ZOHO_MODE: 'sandbox', API_KEYS: ' , ' }, { ADMIN_API_KEYS: ',,' }]) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: /API_KEYS is set but lists no key/ }, JSON.stringify(env))
  }
})
