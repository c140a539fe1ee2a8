// @ts-check
// #rules: the set that decides for the organization picked (or the shared set, with "all"), each
// rule in words with its fixture results, and a candidate editor: edit, paste or pick files; the
// candidate is validated and backtested in backtest.js.
import { api, problemText } from './api.js'
import { conditionWords } from './facts.js'
import { $, announce, badge, count, h, show } from './lib.js'
import { label, picked, query } from './organizations.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 * @typedef {Schemas['RuleSetStatus']['rules'][number]} Rule
 * @typedef {{ file: string, text: string }} CandidateFile
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

/** @type {Rule[]} */
let active = []
/** @type {CandidateFile[]} */
export const candidate = []
/** The organization the candidate was started from (null: the shared set). */
let candidateOf = /** @type {string | null | undefined} */ (undefined)

export async function rulesView() {
  const org = picked()
  /** @type {Answer<Schemas['RuleSetStatus']>} */
  const r = await api(`/rules?${query()}`)
  if (!r.ok) return show('active-rules', h('p', { class: 'error' }, problemText(r)))
  active = r.data.rules
  const failures = r.data.fixtures.failures
  show(
    'active-rules',
    h(
      'p',
      { class: 'note', id: 'active-summary' },
      org
        ? `${label(org)}: ${r.data.own ? 'its own set' : 'the shared set'}, `
        : 'The shared set (organizations without a set of their own), ',
      `version ${r.data.version.slice(0, 19)}, ${active.length} rules; fixtures: ${count(r.data.fixtures.passed)} cases passed.`,
    ),
    h(
      'table',
      { id: 'active-table', class: 'stack' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['rule', 'does', 'when', 'fixtures'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        active.map((rule) => {
          const failing = failures.filter((x) => x.file === `tests/${rule.file}` || x.file.endsWith(`/${rule.file}`))
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, rule.name, h('br'), h('span', { class: 'note' }, rule.file)),
            h('td', {}, badge(rule.type), ' ', h('code', {}, rule.code), h('br'), rule.message),
            h('td', {}, conditionWords(rule.conditions)),
            h(
              'td',
              { class: failing.length ? 'error' : undefined },
              failing.length ? failing.map((x) => `${x.case}: ${x.message}`).join('; ') : 'pass',
            ),
          )
        }),
      ),
    ),
  )
  // A candidate is for one set: another organization's view starts from its set.
  if (candidate.length === 0 || candidateOf !== org) resetCandidate()
  announce('Rules loaded')
}

/**
 * A rule file as the rules folder would hold it, rebuilt from GET /rules.
 * @param {Rule} rule
 */
const ruleFile = (rule) =>
  JSON.stringify(
    {
      name: rule.name,
      ...(rule.description ? { description: rule.description } : {}),
      priority: rule.priority,
      conditions: rule.conditions,
      event: { type: rule.type, params: { code: rule.code, message: rule.message } },
    },
    null,
    2,
  )

function resetCandidate() {
  candidateOf = picked()
  candidate.splice(0, candidate.length, ...active.map((rule) => ({ file: rule.file, text: ruleFile(rule) })))
  renderCandidate()
}

/** What validate and backtest send: the candidate files, for the organization picked. */
export const candidateBody = () => ({
  ...(candidateOf ? { organization_id: candidateOf } : {}),
  rules: candidate.map((c) => ({ file: c.file, content: c.text })),
})

function renderCandidate() {
  show(
    'candidate',
    ...candidate.map((entry, i) => {
      const id = `candidate-${i}`
      return h(
        'details',
        { class: 'file', 'data-file': entry.file },
        h('summary', {}, entry.file),
        h('label', { for: `${id}-name` }, 'File name'),
        h('input', {
          id: `${id}-name`,
          value: entry.file,
          oninput: (/** @type {Event} */ e) => {
            entry.file = /** @type {HTMLInputElement} */ (e.target).value
          },
        }),
        h('label', { for: id }, 'Content (JSON)'),
        h(
          'textarea',
          {
            id,
            spellcheck: 'false',
            oninput: (/** @type {Event} */ e) => {
              entry.text = /** @type {HTMLTextAreaElement} */ (e.target).value
            },
          },
          entry.text,
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              candidate.splice(i, 1)
              renderCandidate()
            },
          },
          `Remove ${entry.file}`,
        ),
      )
    }),
  )
}

/**
 * Opens the candidate file of that name (from a validation error).
 * @param {string} file
 */
export function openFile(file) {
  const details = $('candidate').children[candidate.findIndex((c) => c.file === file)]
  if (!details) return
  details.open = true
  details.querySelector('textarea').focus()
}

$('candidate-reset').addEventListener('click', resetCandidate)
$('candidate-add').addEventListener('click', () => {
  candidate.push({
    file: `new-rule-${candidate.length + 1}.json`,
    text: '{\n  "name": "",\n  "conditions": { "all": [] },\n  "event": { "type": "review", "params": { "code": "", "message": "" } }\n}',
  })
  renderCandidate()
  const opened = $('candidate').lastElementChild
  opened.open = true
  opened.querySelector('textarea').focus()
})
$('candidate-files').addEventListener('change', async (/** @type {Event} */ event) => {
  const input = /** @type {HTMLInputElement} */ (event.target)
  for (const file of input.files ?? []) {
    const text = await file.text()
    const known = candidate.find((c) => c.file === file.name)
    if (known) known.text = text
    else candidate.push({ file: file.name, text })
  }
  input.value = ''
  renderCandidate()
  announce('Files added to the candidate set')
})
