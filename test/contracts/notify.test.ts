// The notify contract against WebhookNotifier posting to an HTTP server on 127.0.0.1 (JSON format) and
// against the memory notifier.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebhookNotifier } from '../../src/adapters/webhook.ts'
import { MemoryNotifier } from '../memory/notify.ts'
import { describeNotifyContract, type Delivered } from './notify.contract.ts'

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }

async function until<T>(get: () => T[], n: number, ms = 5000): Promise<T[]> {
  const end = performance.now() + ms
  while (get().length < n && performance.now() < end) await new Promise((r) => setTimeout(r, 10))
  // anything more that was on its way
  await new Promise((r) => setTimeout(r, 50))
  return get()
}

describeNotifyContract('WebhookNotifier (HTTP)', async () => {
  const got: Delivered[] = []
  let first = true
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      // the receiver refuses its first request: delivery retries
      if (first) {
        first = false
        res.writeHead(503).end()
        return
      }
      const j = JSON.parse(body)
      got.push({ event: j.event, site: j.site, summary: j.summary, details: j.details })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const notify = new WebhookNotifier('shop', [{ url, format: 'json', events: [], timeout: 2000 }], quiet, { backoffMs: 20, backoffMaxMs: 50 })
  return {
    notify,
    delivered: (n) => until(() => got, n),
    cleanup: async () => {
      await notify.close(1000)
      await new Promise((r) => server.close(r))
    },
  }
})

describeNotifyContract('MemoryNotifier', async () => {
  const notify = new MemoryNotifier('shop')
  return { notify, delivered: (n) => until(() => notify.sent, n), cleanup: async () => undefined }
})
