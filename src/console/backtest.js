// @ts-check
// The candidate set checked as the service would before it goes live (POST /rules/validate), and
// backtested on the recorded decisions (POST /rules/backtest): the outcome matrix, how often each
// rule fired before and after, and the decisions that would change, each linking to its customer.
import { api, notAvailable, problemText } from './api.js'
import { matrixTable, summary } from './charts.js'
import { $, announce, badge, count, h, show } from './lib.js'
import { linkTo } from './organizations.js'
import { candidateBody, openFile } from './rules.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

/**
 * Validation errors, each a button that opens the file it names.
 * @param {Schemas['RuleError'][]} errors
 */
function errorList(errors) {
  return h(
    'ul',
    { class: 'errors' },
    errors.map((e) =>
      h('li', {}, h('button', { type: 'button', onclick: () => openFile(e.file) }, `${e.file} ${e.path}`), `: ${e.message}`),
    ),
  )
}

$('candidate-validate').addEventListener('click', async () => {
  show('validation', h('p', { class: 'note' }, 'Validating…'))
  /** @type {Answer<Schemas['RuleValidation']>} */
  const r = await api('/rules/validate', { method: 'POST', body: candidateBody() })
  if (!r.ok) return show('validation', h('p', { class: 'error' }, problemText(r)))
  const v = r.data
  const fixtureFailures = v.fixtures.failures
  show(
    'validation',
    h(
      'p',
      { class: v.valid ? undefined : 'error', id: 'validation-verdict' },
      v.valid ? `Valid: this set would go live (version ${v.version?.slice(0, 19)}).` : 'Not valid: this set would not go live.',
      ` Fixtures: ${count(v.fixtures.passed)} passed, ${fixtureFailures.length} failing.`,
    ),
    v.errors.length ? errorList(v.errors) : '',
    fixtureFailures.length
      ? h(
          'ul',
          {},
          fixtureFailures.map((x) => h('li', {}, `${x.file} “${x.case}”: ${x.message}`)),
        )
      : '',
  )
})

/** @param {string[]} head */
const headRow = (head) =>
  h(
    'thead',
    {},
    h(
      'tr',
      {},
      head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, c)),
    ),
  )

$('candidate-backtest').addEventListener('click', async () => {
  show('backtest', h('p', { class: 'note' }, 'Running the backtest…'))
  const body = candidateBody()
  /** @type {Answer<Schemas['RuleComparison']>} */
  const r = await api('/rules/backtest', { method: 'POST', body })
  if (r.missing) return show('backtest', notAvailable('The backtest (POST /rules/backtest)'))
  if (!r.ok)
    return show('backtest', h('p', { class: 'error' }, problemText(r)), Array.isArray(r.data?.errors) ? errorList(r.data.errors) : '')
  const b = r.data
  show(
    'backtest',
    summary(b),
    matrixTable(b.matrix, 'Recorded decision (rows) against the candidate’s (columns)'),
    h(
      'table',
      { id: 'backtest-rules' },
      h('caption', {}, 'Times each rule fired'),
      headRow(['rule', 'before', 'after']),
      h(
        'tbody',
        {},
        b.rules.map((x) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, x.name),
            h('td', { class: 'num' }, count(x.fired_before)),
            h('td', { class: `num${x.fired_after !== x.fired_before ? ' changed' : ''}` }, count(x.fired_after)),
          ),
        ),
      ),
    ),
    b.examples.length
      ? h(
          'table',
          { id: 'backtest-examples' },
          h('caption', {}, 'Decisions that would change'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['customer', 'before', 'after', 'why after'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            b.examples.map((x) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: linkTo(`#customer/${x.contact_id}`, body.organization_id ?? null) }, x.contact_id)),
                h('td', {}, badge(x.before)),
                h('td', {}, badge(x.after)),
                h('td', {}, x.reasons_after.map((m) => m.message ?? m.code).join('; ') || '—'),
              ),
            ),
          ),
        )
      : h('p', { class: 'note' }, 'No recorded decision would change.'),
  )
  announce(`Backtest: ${b.changed} of ${b.evaluated} decisions would change`)
})
