import { z } from 'zod'
import { EVENT_TYPES } from '../domain/decision.js'
import { FACT_NAMES, OPERATOR_NAMES } from './catalogue.js'

/**
 * The shape of one rule file: a json-rules-engine rule restricted to what creditgate can check.
 * The same schema is published as rules/rule.schema.json for editors (npm run rules:schema).
 */
const factName = z.enum(FACT_NAMES, {
  error: (issue) => `unknown fact ${JSON.stringify(issue.input)}; see the fact catalogue in rules/README.md`,
})
const operatorName = z.enum(OPERATOR_NAMES, {
  error: (issue) => `unknown operator ${JSON.stringify(issue.input)}; use one of ${OPERATOR_NAMES.join(', ')}`,
})
const path = z
  .string()
  .regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+$/, 'a path looks like "$.field" or "$.list[0].field"')
  .describe('Where to look inside an object fact (contact, custom_fields), e.g. "$.payment_terms"')

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()])
export const FactReferenceSchema = z
  .strictObject({ fact: factName, path: path.optional() })
  .describe('Compare against another fact instead of a fixed value')

export const ConditionSchema = z
  .strictObject({
    fact: factName,
    path: path.optional(),
    operator: operatorName,
    value: z.union([scalar, z.array(scalar), FactReferenceSchema]),
  })
  .describe('One comparison: fact operator value')

export interface ConditionNodeAll {
  all: ConditionNode[]
}
export interface ConditionNodeAny {
  any: ConditionNode[]
}
export interface ConditionNodeNot {
  not: ConditionNode
}
export type ConditionLeaf = z.infer<typeof ConditionSchema>
export type FactReference = z.infer<typeof FactReferenceSchema>

/** The fact a condition's value names, when it compares with another fact instead of a value. */
export const factReference = (value: ConditionLeaf['value']): FactReference | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined
export type ConditionNode = ConditionLeaf | ConditionNodeAll | ConditionNodeAny | ConditionNodeNot

const groupSchema = (node: z.ZodType<ConditionNode>) =>
  z.union([
    z.strictObject({ all: z.array(node).min(1) }).describe('Every condition must hold'),
    z.strictObject({ any: z.array(node).min(1) }).describe('At least one condition must hold'),
    z.strictObject({ not: node }).describe('The condition must not hold'),
  ])

export const ConditionNodeSchema: z.ZodType<ConditionNode> = z.lazy(() => z.union([ConditionSchema, groupSchema(ConditionNodeSchema)]))

export const RuleFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Editors use this to validate and autocomplete'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'use lowercase letters, digits and dashes, e.g. "outstanding-over-50000"')
      .describe('Unique rule name, shown in decisions'),
    description: z.string().optional().describe('What the rule is for, in plain words'),
    priority: z.number().int().min(1).max(100).optional().describe('Higher runs first; every rule runs regardless'),
    releasable: z
      .boolean()
      .optional()
      .describe('false: a case this rule held can never be released by a person (a forced hold); default true'),
    conditions: groupSchema(ConditionNodeSchema),
    event: z.strictObject({
      type: z.enum(EVENT_TYPES, { error: (issue) => `unknown event type ${JSON.stringify(issue.input)}; use block, review or alert` }),
      params: z.strictObject({
        code: z
          .string()
          .regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'use UPPER_SNAKE_CASE, e.g. "OUTSTANDING_OVER_LIMIT"')
          .describe('Stable code order systems act on'),
        message: z.string().min(1).max(500).describe('Shown to people; {{fact}} quotes a fact, amounts formatted'),
      }),
    }),
  })
  .describe('A creditgate rule')

export type RuleFile = z.infer<typeof RuleFileSchema>
