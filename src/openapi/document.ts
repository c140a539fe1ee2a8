import { problemCodes } from '../problem-schema.js'
import { type Example, OPERATION_EXAMPLES, problemExample, REQUEST_EXAMPLES } from './examples.js'

/** The parts of an OpenAPI document read here. */
type Doc = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } }
type Operation = {
  operationId?: string
  responses?: Record<string, { content?: Record<string, { examples?: Record<string, Example> }> }>
  requestBody?: { content?: Record<string, { examples?: Record<string, Example> }> }
}

/** Adds the examples and drops component schemas nothing refers to. */
export function addOpenApiExamples<T>(document: T): T {
  const doc = document as Doc
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const id = operation.operationId ?? ''
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (type === 'application/problem+json') {
            const codes = problemCodes(Number(status), id)
            media.examples = Object.fromEntries(codes.map((c) => [c, problemExample(c)]))
          } else {
            const examples = OPERATION_EXAMPLES[id]?.[status]
            if (examples) media.examples = examples
          }
        }
      }
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        const examples = REQUEST_EXAMPLES[id]?.[type]
        if (examples) media.examples = examples
      }
    }
  }
  pruneUnusedSchemas(doc)
  return document
}

function pruneUnusedSchemas(doc: Doc): void {
  const schemas = doc.components?.schemas
  if (!schemas) return
  const used = new Set<string>()
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item)
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string') {
          const name = child.replace('#/components/schemas/', '')
          if (!used.has(name)) {
            used.add(name)
            visit(schemas[name])
          }
        } else visit(child)
      }
    }
  }
  visit(doc.paths)
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name]
}
