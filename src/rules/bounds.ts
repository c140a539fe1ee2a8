/**
 * What a person can type into a rule or fixture file, bounded before anything recursive (zod,
 * the evaluator) sees it: a rule file that is too big, too deep or too long is an error with its
 * JSON path, never a stack overflow or a stall.
 */
export interface JsonLimits {
  /** Nesting of objects and arrays (a rule's all/any/not group adds one or two levels). */
  readonly depth: number
  /** Values in the whole document. */
  readonly nodes: number
  /** Items in one array (conditions of a group, values of an `in` list, cases of a fixture file). */
  readonly arrayItems: number
  /** Characters in one string. */
  readonly stringLength: number
}

export const RULE_LIMITS: JsonLimits = { depth: 24, nodes: 2_000, arrayItems: 500, stringLength: 1_000 }
export const FIXTURE_LIMITS: JsonLimits = { depth: 12, nodes: 100_000, arrayItems: 2_000, stringLength: 1_000 }

/** The first place a parsed JSON document goes past a limit, walked without recursion. */
export function exceeded(value: unknown, limits: JsonLimits): { path: string; message: string } | undefined {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [] }]
  let nodes = 0
  while (stack.length > 0) {
    const { value: node, path } = stack.pop() as { value: unknown; path: PropertyKey[] }
    if (++nodes > limits.nodes) return { path: '$', message: `more than ${limits.nodes} values in one file` }
    if (typeof node === 'string' && node.length > limits.stringLength) {
      return { path: jsonPath(path), message: `a text of ${node.length} characters; at most ${limits.stringLength}` }
    }
    if (node === null || typeof node !== 'object') continue
    if (path.length >= limits.depth) return { path: jsonPath(path), message: `nested deeper than ${limits.depth} levels` }
    if (Array.isArray(node)) {
      if (node.length > limits.arrayItems)
        return { path: jsonPath(path), message: `a list of ${node.length} items; at most ${limits.arrayItems}` }
      for (let i = node.length - 1; i >= 0; i--) stack.push({ value: node[i], path: [...path, i] })
    } else {
      for (const [key, child] of Object.entries(node)) stack.push({ value: child, path: [...path, key] })
    }
  }
  return undefined
}

export const jsonPath = (path: readonly PropertyKey[]) =>
  `$${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`
