// The file routes SharePoint sites and OneDrive drives share: list, and GET | PUT | DELETE by path.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { patternStream } from './bytes.js'
import { decodeFilePath } from './file-path.js'
import type { FileLibrary } from './file-library.js'
import { notFound } from './not-found.js'

export interface FileRoutesOptions<Params> {
  /** The route of the listing, e.g. `/tenants/:tenantId/sites/:site/files`; items live below it. */
  collection: string
  /** The library the route parameters name, or what is missing (`'site'`) for the 404. */
  libraryOf: (params: Params) => FileLibrary | string
}

/**
 * Adds the file routes to `app`, which must be the service's own encapsulated scope: it replaces
 * the body parsers there so a PUT body of any type reaches the handler as an unread stream.
 */
export function registerFileRoutes<Params extends { tenantId: string }> (
  app: FastifyInstance,
  { collection, libraryOf }: FileRoutesOptions<Params>
): void {
  const skip = collection.split('/').length - 1
  const item = `${collection}/*`
  // Fastify filled the parameters from `collection`, which names every key of Params.
  const libraryFor = (request: FastifyRequest): FileLibrary | string => libraryOf(request.params as Params)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', function leaveBodyUnread (_request, payload, done) {
    done(null, payload)
  })

  app.get(collection, async function listFiles (request, reply) {
    const library = libraryFor(request)
    if (typeof library === 'string') return notFound(reply, library)
    return library.list()
  })

  app.get(item, async function readFile (request, reply) {
    const library = libraryFor(request)
    if (typeof library === 'string') return notFound(reply, library)
    const path = decodeFilePath(request.url, skip)
    const file = path === null ? undefined : library.get(path)
    if (file === undefined) return notFound(reply, 'file')
    const { content, size, contentType } = file
    if (content.kind === 'digest') {
      return reply.code(410).send({ error: 'content not retained', size, sha256: content.sha256 })
    }
    const bytes = content.kind === 'bytes' ? content.data : patternStream(size)
    return reply.type(contentType).header('content-length', size).send(bytes)
  })

  app.put(item, async function writeFile (request, reply) {
    const library = libraryFor(request)
    if (typeof library === 'string') return notFound(reply, library)
    const path = decodeFilePath(request.url, skip)
    if (path === null) return reply.code(400).send({ error: 'invalid file path' })
    const contentType = request.headers['content-type'] ?? 'application/octet-stream'
    const { created, file } = await library.put(path, contentType, request.raw)
    return reply.code(created ? 201 : 200).send(file)
  })

  app.delete(item, async function deleteFile (request, reply) {
    const library = libraryFor(request)
    if (typeof library === 'string') return notFound(reply, library)
    const path = decodeFilePath(request.url, skip)
    if (path === null || !library.delete(path)) return notFound(reply, 'file')
    return reply.code(204).send()
  })
}
