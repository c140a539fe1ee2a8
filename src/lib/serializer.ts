import fastJson from 'fast-json-stringify'
import { z } from 'zod'

type JsonSchema = { [key: string]: unknown }

/**
 * `anyOf: [X, null]` and `type: [T, "null"]` as `X, nullable: true`: fast-json-stringify then
 * writes them directly instead of asking a validator which branch a value is.
 */
function nullableForm(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullableForm)
  if (!schema || typeof schema !== 'object') return schema
  const s = Object.fromEntries(Object.entries(schema as JsonSchema).map(([k, v]) => [k, nullableForm(v)])) as JsonSchema
  const anyOf = s.anyOf as JsonSchema[] | undefined
  if (anyOf?.length === 2 && anyOf.some((b) => b.type === 'null')) {
    const { anyOf: _, ...rest } = s
    return { ...rest, ...(anyOf.find((b) => b.type !== 'null') as JsonSchema), nullable: true }
  }
  if (Array.isArray(s.type) && s.type.length === 2 && s.type.includes('null')) {
    return { ...s, type: s.type.find((t) => t !== 'null'), nullable: true }
  }
  return s
}

/**
 * A response serializer compiled once from the route's zod schema (fast-json-stringify), for
 * the hot decision routes: it writes only what the schema declares, in the types it declares,
 * without re-validating every answer as the zod serializer does. The decision's shape is fixed
 * by the TypeScript type and checked against the schema by the API tests.
 */
export const compiledSerializer = ({ schema }: { schema: unknown }) =>
  fastJson(
    nullableForm(z.toJSONSchema(schema as z.ZodType, { target: 'draft-7', io: 'output', unrepresentable: 'any' })) as Parameters<
      typeof fastJson
    >[0],
  )
