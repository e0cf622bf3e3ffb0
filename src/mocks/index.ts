// The built-in mock content services the gateway starts on loopback for each workload whose
// upstream URL is not configured (API.md §5).
import Fastify, { type FastifyInstance } from 'fastify'
import { WORKLOADS, type Workload } from '../domain/lockbox.js'
import type { GatewayAssertionOptions } from './assertion.js'
import { exchangeService } from './exchange.js'
import { notFound } from './not-found.js'
import { onedriveService } from './onedrive.js'
import { sharepointService } from './sharepoint.js'

export interface MockServiceOptions extends GatewayAssertionOptions {
  logger?: boolean
}

export interface MockServices {
  /** Base URL of each service, e.g. `http://127.0.0.1:41234`. */
  urls: Record<Workload, string>
  close: () => Promise<void>
}

const SERVICES: Record<Workload, (app: FastifyInstance, options: GatewayAssertionOptions) => Promise<void>> = {
  exchange: exchangeService,
  sharepoint: sharepointService,
  onedrive: onedriveService
}

/** One mock service, not listening yet; it starts from the sample content. */
export function buildMockService (workload: Workload, { logger = false, ...assertions }: MockServiceOptions): FastifyInstance {
  const app = Fastify({ logger })
  app.setNotFoundHandler(function unknownRoute (_request, reply) {
    return notFound(reply, 'route')
  })
  app.register(SERVICES[workload], assertions)
  return app
}

/** All three services, each listening on its own ephemeral port of 127.0.0.1. */
export async function startMockServices (options: MockServiceOptions): Promise<MockServices> {
  const apps = WORKLOADS.map((workload) => buildMockService(workload, options))
  const close = async (): Promise<void> => { await Promise.all(apps.map(async (app) => await app.close())) }
  try {
    const addresses = await Promise.all(apps.map(async (app) => await app.listen({ host: '127.0.0.1', port: 0 })))
    const urls = Object.fromEntries(WORKLOADS.map((workload, i) => [workload, addresses[i]])) as Record<Workload, string>
    return { urls, close }
    /* c8 ignore start -- listening on an ephemeral loopback port fails only when the machine is out of ports */
  } catch (err) {
    await close()
    throw err
  }
  /* c8 ignore stop */
}
