'use strict'
// The process exits by itself, promptly and cleanly, once everything is closed: nothing in
// the addon (tokio runtime, connections, timers) keeps Node's event loop alive.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')

const EXIT_BOUND_MS = 3000

test('a script that closes what it opened exits within a bound, with status 0', async () => {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'lifecycle.js')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let closedAt = null
  child.stdout.on('data', d => {
    stdout += d
    if (closedAt === null && stdout.includes('closed')) closedAt = Date.now()
  })
  child.stderr.on('data', d => { stderr += d })
  let timer
  const result = await Promise.race([
    new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }))),
    new Promise(resolve => { timer = setTimeout(() => resolve(null), 60000) })
  ])
  clearTimeout(timer)
  if (result === null) child.kill('SIGKILL')
  assert.ok(result !== null, `the child did not exit within 60 s\n${stdout}\n${stderr}`)
  assert.equal(result.code, 0, `exit status\n${stdout}\n${stderr}`)
  assert.ok(closedAt !== null, `the child closed everything\n${stdout}\n${stderr}`)
  assert.ok(result.at - closedAt < EXIT_BOUND_MS, `exited ${result.at - closedAt} ms after closing (bound ${EXIT_BOUND_MS} ms)`)
})
