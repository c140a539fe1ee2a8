import t from 'tap'
import { contactOnlyRules, eventually, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

/** GET /metrics: the series operators and the alert rules read. */

t.test('/metrics in Prometheus format', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { REDIS_URL: redis.url, ZOHO_REQUESTS_PER_MINUTE: '3', RULES_DIR: await contactOnlyRules(t) },
  })
  await app.inject({ url: '/contacts/460000000026049/risk' })
  await app.inject({ url: '/contacts/460000000026049/risk' })
  await app.inject({ url: '/contacts/460000000031002/risk' })
  await app.inject({ url: '/contacts/460000000099999/risk' })
  await app.inject({ url: '/contacts/460000000031001/risk' })
  await app.inject({ url: '/contacts/abc/risk' })
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  const text = res.body
  const expected = [
    /creditgate_http_request_duration_seconds_count\{route="\/contacts\/:contact_id\/risk",method="GET",status_code="200"\} 3/,
    /creditgate_http_request_duration_seconds_count\{route="\/contacts\/:contact_id\/risk",method="GET",status_code="400"\} 1/,
    /creditgate_decisions_total\{decision="block"\} 2/,
    /creditgate_decisions_total\{decision="allow"\} 1/,
    /creditgate_rule_fired_total\{rule="outstanding-over-50000",type="block"\} 2/,
    /creditgate_rule_fired_total\{rule="apply-unused-credits",type="alert"\} 3/,
    /creditgate_contact_cache_total\{result="hit"\} 1/,
    /creditgate_contact_cache_total\{result="miss"\} 4/,
    /creditgate_zoho_calls_total\{outcome="ok"\} 2/,
    /creditgate_zoho_calls_total\{outcome="not_found"\} 1/,
    /creditgate_zoho_call_duration_seconds_count\{outcome="ok"\} 2/,
    /creditgate_zoho_budget_rejections_total\{reason="spent"\} 1/,
    /^creditgate_redis_degraded 0$/m,
    /creditgate_rules_info\{version="sha256:[0-9a-f]{64}"\} 1/,
    /process_cpu_seconds_total/,
    /nodejs_eventloop_lag_seconds/,
  ]
  for (const pattern of expected) t.match(text, pattern)

  await redis.kill()
  await eventually(async () => /^creditgate_redis_degraded 1$/m.test((await app.inject({ url: '/metrics' })).body), 'the degraded gauge')
  t.match((await app.inject({ url: '/metrics' })).body, /^creditgate_redis_degraded_total 1$/m)
})
