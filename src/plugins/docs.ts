import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { addOpenApiExamples } from '../openapi/document.js'
import { SECURITY_SCHEMES } from './access.js'

export const API_VERSION = '1.0.0'

/** The OpenAPI document, generated from the routes' zod schemas, and Swagger UI at /docs. */
const docsPlugin: FastifyPluginAsync = async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'creditgate',
        version: API_VERSION,
        description:
          'Credit-risk decisions for order systems whose receivables live in Zoho Books: may this customer place a new order now? Answers `allow`, `review` or `block` with the reasons and alerts behind it.',
      },
      tags: [
        { name: 'risk', description: 'Credit decisions' },
        { name: 'rules', description: 'Rule operations: the active set, validation, reload, dry runs, backtests and shadow rules' },
        { name: 'cases', description: 'Held orders: credit cases, releases and rejections (callbacks are described in the README)' },
        { name: 'reservations', description: 'Allowed orders held against the customer’s credit until Zoho lists them' },
        { name: 'history', description: 'Past decisions with the facts they were made on' },
        { name: 'cache', description: 'Cache invalidation: admin purge and the Zoho webhook' },
        { name: 'people', description: 'Who is asking: the console sign-in through the identity provider, sessions and roles' },
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'errors', description: 'The pages behind every problem type' },
      ],
      servers: [{ url: '/', description: 'This creditgate' }],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => addOpenApiExamples(jsonSchemaTransformObject(doc)),
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: true, validatorUrl: null },
    // Everything from creditgate itself: no CDN, no online validator. Inline styles only (Swagger
    // UI sets some); scripts only from files. No upgrade-insecure-requests: it also runs on plain
    // http on loopback.
    staticCSP:
      "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'self'; " +
      "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'",
  })
}

export default fp(docsPlugin, { name: 'docs' })
