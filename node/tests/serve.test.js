'use strict'
// Every client API against a `strom serve` process over TCP ($STROM_BIN).
const { Admin } = require('..')
const { clientSuite } = require('./suite')
const { startStromServe } = require('./helpers')

clientSuite('strom serve, clients over TCP', async () => {
  const server = await startStromServe()
  const admin = new Admin({ bootstrapServers: server.addr })
  await admin.connect()
  return {
    opts: { bootstrapServers: server.addr },
    async createTopic (topic, numPartitions) {
      await admin.createTopics({ topics: [{ topic, numPartitions }] })
    },
    async close () {
      await admin.disconnect()
      await server.stop()
    }
  }
})
