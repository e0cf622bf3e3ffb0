// Validates produced OCSF events against the JSON Schema of their class (test/fixtures/ocsf, written
// from the OCSF schema repository's definitions; see its README), with a real validator (Ajv).
import { readFileSync } from 'node:fs'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020
const load = (name: string): object => JSON.parse(readFileSync(new URL(`../fixtures/ocsf/${name}.schema.json`, import.meta.url), 'utf8')) as object

const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }))
ajv.addSchema(load('objects'))
const validators: Record<number, ValidateFunction> = {
  6001: ajv.compile(load('web_resources_activity')),
  6003: ajv.compile(load('api_activity'))
}

/** The schema's complaints about `event` (empty when valid); an event of a class we hold no schema for is a complaint too. */
export function ocsfErrors (event: unknown): string[] {
  const classUid = (event as { class_uid?: unknown }).class_uid
  const validate = validators[classUid as number]
  if (validate === undefined) return [`no schema for class_uid ${String(classUid)}`]
  if (validate(event)) return []
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
}
