'use strict'
// kafkajs admin calls about consumer groups for the group tests:
//   node group-admin.js < {"brokers": [...], "steps": [{"op": "...", ...}, ...]}
// Same output contract as kjs.js: one JSON line, {"ok": true, "results": [...]} or
// {"ok": false, "step": i, "error": {...}, "results": [...]} (exit code 2).
// describeGroups decodes member metadata / assignments with kafkajs' AssignerProtocol.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel, AssignerProtocol } = require('kafkajs')

function describeError (e, depth = 0) {
  if (!e || typeof e !== 'object' || depth > 4) return e === undefined ? null : String(e)
  const out = { name: e.name, type: e.type, code: e.code, message: e.message, retriable: e.retriable }
  if (e.cause) out.cause = describeError(e.cause, depth + 1)
  if (e.originalError) out.originalError = describeError(e.originalError, depth + 1)
  if (Array.isArray(e.errors)) out.errors = e.errors.map(x => describeError(x, depth + 1))
  // KafkaJSDeleteGroupsError: the per-group error codes
  if (Array.isArray(e.groups)) {
    out.groups = e.groups.map(g => ({ groupId: g.groupId, errorCode: g.errorCode, type: g.error && g.error.type }))
  }
  return out
}

function decodeOr (fn, buf) {
  if (!buf || buf.length === 0) return null
  try {
    return fn(buf)
  } catch (e) {
    return { undecodable: buf.toString('hex') }
  }
}

async function main () {
  const spec = JSON.parse(require('fs').readFileSync(0, 'utf8'))
  const kafka = new Kafka({
    clientId: 'strom-kafkajs-group-admin',
    brokers: spec.brokers,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, label, log }) =>
      process.stderr.write(`[kafkajs ${label}] ${namespace}: ${log.message}\n`)
  })
  const admin = kafka.admin()
  await admin.connect()
  const ops = {
    async listGroups () {
      return admin.listGroups()
    },
    async describeGroups (step) {
      const res = await admin.describeGroups(step.groupIds)
      return res.groups.map(g => ({
        ...g,
        members: g.members.map(m => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscription: decodeOr(b => AssignerProtocol.MemberMetadata.decode(b).topics, m.memberMetadata),
          assignment: decodeOr(b => AssignerProtocol.MemberAssignment.decode(b).assignment, m.memberAssignment)
        }))
      }))
    },
    async fetchOffsets (step) {
      return admin.fetchOffsets({ groupId: step.groupId, topics: step.topics })
    },
    async fetchTopicOffsets (step) {
      return admin.fetchTopicOffsets(step.topic)
    },
    async deleteGroups (step) {
      return admin.deleteGroups(step.groupIds)
    },
    async resetOffsets (step) {
      await admin.resetOffsets({ groupId: step.groupId, topic: step.topic, earliest: !!step.earliest })
      return true
    }
  }
  const results = []
  let failedStep = null
  try {
    for (let i = 0; i < spec.steps.length; i++) {
      failedStep = i
      const fn = ops[spec.steps[i].op]
      if (!fn) throw new Error(`unknown op ${spec.steps[i].op}`)
      results.push(JSON.parse(JSON.stringify(await fn(spec.steps[i]) ?? null)))
    }
    failedStep = null
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, step: failedStep, error: describeError(e), results }) + '\n')
    process.exitCode = 2
  } finally {
    await admin.disconnect().catch(() => {})
  }
  if (failedStep === null) process.stdout.write(JSON.stringify({ ok: true, results }) + '\n')
}

main().catch(e => {
  process.stdout.write(JSON.stringify({ ok: false, step: null, error: describeError(e) }) + '\n')
  process.exitCode = 2
})
