// Strict request validation: bodies are never coerced or stripped (an unknown field or a "true"
// string where a boolean belongs is a 400), while query strings and params, which are always text,
// are coerced to the declared types.
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

function makeAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, strict: false, ...options })
  addFormats.default(ajv)
  return ajv
}

export function strictValidatorCompiler (): FastifySchemaCompiler<unknown> {
  const bodies = makeAjv({ coerceTypes: false })
  const text = makeAjv({ coerceTypes: 'array' })
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema as object)
}
