// @ts-check
// Charts (uPlot, loaded before the modules as the global `uPlot`) and the outcome matrix the
// overview's shadow card and the backtest share. Each chart element keeps its plot; the window's
// width resizes them all.
import { count, h } from './lib.js'

/** @typedef {import('uplot')} UPlot */
/** @typedef {import('uplot').Options} Options */
/** @typedef {import('uplot').AlignedData} AlignedData */
/** @typedef {'allow' | 'review' | 'block'} Outcome */
/** @typedef {Record<Outcome, Record<Outcome, number>>} Matrix */

/** @type {Outcome[]} */
export const DECISIONS = ['allow', 'review', 'block']
export const COLOURS = { allow: '#1b7f3b', review: '#a15c00', block: '#b42318', bars: '#1f4fbf' }

/** The uPlot bundle's global (a classic script before the modules), read when a chart is drawn. */
const UPlot = () => /** @type {typeof import('uplot')} */ (/** @type {any} */ (globalThis).uPlot)

/** @type {Map<HTMLElement, UPlot>} */
const plots = new Map()

/**
 * Draws a chart in `el`, replacing the one it held.
 * @param {HTMLElement} el
 * @param {Omit<Options, 'width' | 'height'>} options
 * @param {AlignedData} data
 */
export function plot(el, options, data) {
  plots.get(el)?.destroy()
  el.replaceChildren()
  const u = new (UPlot())({ width: Math.max(240, el.clientWidth || 600), height: 220, ...options }, data, el)
  plots.set(el, u)
  return u
}
window.addEventListener('resize', () => {
  for (const [el, u] of plots) if (el.isConnected && el.clientWidth > 0) u.setSize({ width: el.clientWidth, height: 220 })
})

/** @param {UPlot} _u @param {number[]} splits */
export const countTicks = (_u, splits) => splits.map(count)
/** @type {import('uplot').Range.Function} */
export const fromZero = (_u, _min, max) => [0, Math.max(1, max) * 1.1]

/**
 * A bar chart over named categories; with `colours`, each bar its own colour (one series per category).
 * @param {HTMLElement} el
 * @param {string[]} labels
 * @param {(number | null)[]} values
 * @param {{ label?: string, colour?: string, colours?: string[], xLabel?: string }} [options]
 */
export function barChart(el, labels, values, { label, colour = COLOURS.bars, colours, xLabel } = {}) {
  const xs = labels.map((_, i) => i)
  const bars = (/** @type {string | undefined} */ c) => ({
    stroke: c,
    fill: c,
    paths: UPlot().paths.bars?.({ size: [0.6, 90] }),
    points: { show: false },
  })
  const series = colours ? labels.map((l, i) => ({ label: l, ...bars(colours[i]) })) : [{ label, ...bars(colour) }]
  const data = colours ? labels.map((_, i) => xs.map((x) => (x === i ? (values[i] ?? null) : null))) : [values]
  return plot(
    el,
    {
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: fromZero } },
      axes: [
        { splits: () => xs, values: (_u, splits) => splits.map((i) => labels[i] ?? ''), grid: { show: false }, label: xLabel },
        { values: countTicks, size: 70 },
      ],
      series: [{}, ...series],
    },
    [xs, ...data],
  )
}

/**
 * Decisions evaluated and changed, in words.
 * @param {{ evaluated?: number, changed?: number, not_comparable?: number }} s
 */
export const summary = (s) =>
  h(
    'p',
    { class: 'summary' },
    `${count(s.evaluated ?? 0)} decisions evaluated, ${count(s.changed ?? 0)} would change`,
    s.not_comparable ? `, ${count(s.not_comparable)} not comparable (their records lack facts the candidate reads)` : '',
    '.',
  )

/**
 * The outcome matrix: rows before, columns after; changes stand out.
 * @param {Matrix} matrix
 * @param {string} caption
 */
export function matrixTable(matrix, caption) {
  return h(
    'table',
    { class: 'matrix' },
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('td', {}),
        DECISIONS.map((d) => h('th', { scope: 'col', class: 'num' }, `→ ${d}`)),
      ),
    ),
    h(
      'tbody',
      {},
      DECISIONS.map((before) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, before),
          DECISIONS.map((after) => {
            const n = matrix[before]?.[after] ?? 0
            return h(
              'td',
              { class: `num${before !== after && n > 0 ? ' changed' : ''}`, 'data-before': before, 'data-after': after },
              count(n),
            )
          }),
        ),
      ),
    ),
  )
}
