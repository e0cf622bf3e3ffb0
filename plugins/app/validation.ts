// Strict request validation: bodies are never coerced or stripped (an unknown field or a "true"
// string where a boolean belongs is a 400), while query strings and params, which are always text,
// are coerced to the declared types.
//
// Compiled once per process, not once per app: compiling the route schemas (Ajv for requests,
// fast-json-stringify for responses) was most of what building the app cost (two thirds of its CPU
// time). A server builds one app, so this changes nothing there; the tests build hundreds, and in a
// test process every app after the first reuses what the first compiled. The compiled code depends
// on nothing but the schema's JSON (and the shared schemas, module constants: src/routes/schemas.ts),
// so that JSON is the key: some routes build their schema objects anew for each app.
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

function makeAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, strict: false, ...options })
  addFormats.default(ajv)
  return ajv
}

function remembered<T> (cache: Map<string, T>, schema: unknown, compile: () => T): T {
  const key = JSON.stringify(schema)
  let compiled = cache.get(key)
  if (compiled === undefined) {
    compiled = compile()
    cache.set(key, compiled)
  }
  return compiled
}

let validators: { bodies: Ajv, text: Ajv, compiled: { bodies: Map<string, ValidateFunction>, text: Map<string, ValidateFunction> } } | null = null

export function strictValidatorCompiler (): FastifySchemaCompiler<unknown> {
  validators ??= { bodies: makeAjv({ coerceTypes: false }), text: makeAjv({ coerceTypes: 'array' }), compiled: { bodies: new Map(), text: new Map() } }
  const { bodies, text, compiled } = validators
  return ({ schema, httpPart }) => httpPart === 'body'
    ? remembered(compiled.bodies, schema, () => bodies.compile(schema as object))
    : remembered(compiled.text, schema, () => text.compile(schema as object))
}

const serializers = new Map<string, (data: unknown) => string>()

/** fastify's own response serializer compiler (fast-json-stringify), remembering what it compiled. */
export function rememberingSerializers (): SerializerFactory {
  const factory = SerializerSelector()
  return (externalSchemas, options) => {
    const compile = factory(externalSchemas, options)
    return (route) => remembered(serializers, route.schema, () => compile(route))
  }
}
