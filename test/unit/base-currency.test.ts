import pino from 'pino'
import t from 'tap'
import { createBaseCurrencies } from '../../src/services/base-currency.js'
import { logCapture } from '../helpers/app.js'

t.test('base currencies: read once, retried until Zoho answers, re-read after refreshMs', async (t) => {
  let now = 0
  let failing = true
  const calls: string[] = []
  const logs = logCapture()
  const currencies = createBaseCurrencies({
    source: {
      fetchOrganization: async (org) => {
        calls.push(org)
        if (failing && org === '2') throw new Error('Zoho is down')
        return { currency_code: org === '1' ? 'INR' : 'AED' }
      },
    },
    organizations: ['1', '2'],
    log: pino(logs.stream),
    refreshMs: 1000,
    now: () => now,
  })
  t.teardown(() => currencies.close())
  t.same([currencies.of('1'), currencies.of('2')], [null, null], 'nothing known before the first read')
  await currencies.refresh()
  t.same([currencies.of('1'), currencies.of('2')], ['INR', null])
  t.ok(logs.lines.some((l) => l.msg?.toString().includes('could not be read') && l.organization_id === '2'))
  failing = false
  await currencies.refresh()
  t.same(calls, ['1', '2', '2'], 'only the one not known is read again')
  t.equal(currencies.of('2'), 'AED')
  now = 2000
  await Promise.all([currencies.refresh(), currencies.refresh()])
  t.same(calls, ['1', '2', '2', '1', '2'], 'both re-read once refreshMs has passed, once however often asked')
  t.equal(currencies.of('3'), null, 'an organization not asked about has none')
})
