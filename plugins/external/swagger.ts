// OpenAPI 3 document generated from the route schemas, served at /docs/json with the UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

async function openApi (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Lockbox Gateway',
        description: 'Customer Lockbox: approval workflow, audited access tokens and an enforcing content gateway.',
        version: '0.1.0'
      },
      components: {
        securitySchemes: {
          identityToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'OIDC identity token (or the dev issuer\'s)' },
          accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Lockbox access token (content routes only)' }
        }
      },
      tags: [
        { name: 'tenants', description: 'Tenants and their settings' },
        { name: 'service-requests', description: 'Customer service requests' },
        { name: 'requests', description: 'Lockbox requests and their approval workflow' },
        { name: 'audit', description: 'The hash-chained audit log' },
        { name: 'operations', description: 'Health, readiness, keys' }
      ]
    },
    // Every shared schema has an $id: it names the component.
    refResolver: { buildLocalReference: (json) => json.$id as string }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
}

export default fp(openApi, { name: 'swagger' })
