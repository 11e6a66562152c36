'use strict'
// Shared by the test files: temporary directories, a `strom serve` process, bounded waits,
// and the unhandled-rejection guard (any unhandled rejection fails the file).
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { randomUUID } = require('node:crypto')

const unhandled = []
process.on('unhandledRejection', e => {
  unhandled.push(e)
  process.exitCode = 1
  console.error('unhandled rejection:', e)
})

/** Fails when any promise was rejected without a handler so far. */
function assertNoUnhandledRejections () {
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejections')
}

const REPO = path.resolve(__dirname, '..', '..')

/** `strom` binary: $STROM_BIN, else target/debug/strom of the repository. */
function stromBin () {
  return process.env.STROM_BIN || path.join(REPO, 'target', 'debug', 'strom')
}

function tmpdir (prefix = 'strom-node-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

function unique (base) {
  return `${base}-${randomUUID().slice(0, 8)}`
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Waits until `check()` is truthy, polling; fails after `ms`. */
async function waitFor (check, what, ms = 30000) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20)
  }
}

/**
 * Starts `strom serve --listen 127.0.0.1:0 --data-dir <tmp>` and reads the address from its
 * "listening on ADDR" line. `stop()` sends SIGTERM and fails unless it exits with status 0.
 */
async function startStromServe (env = {}) {
  const bin = stromBin()
  if (!fs.existsSync(bin)) {
    throw new Error(`strom binary not found at ${bin}: build it with \`cargo build --bin strom\` or set STROM_BIN`)
  }
  const dir = tmpdir('strom-serve-')
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STROM_LOG: 'warn', STROM_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', ...env }
  })
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  const addr = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`strom serve printed no address in 20 s\n${stderr}`)), 20000)
    child.stdout.on('data', d => {
      out += d
      const m = /listening on (\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1].replace(/[,;)]+$/, ''))
      }
    })
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`strom serve exited (${code}) before listening\n${stderr}`)) })
  })
  child.stdout.resume()
  return {
    addr,
    async stop () {
      child.kill('SIGTERM')
      let timer
      const timeout = new Promise(resolve => { timer = setTimeout(() => resolve({ code: 'timeout' }), 20000) })
      const { code, signal } = await Promise.race([exited, timeout])
      clearTimeout(timer)
      if (code === 'timeout') child.kill('SIGKILL')
      assert.equal(code, 0, `strom serve exit status (signal ${signal})\n${stderr}`)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

module.exports = {
  assertNoUnhandledRejections,
  startStromServe,
  stromBin,
  tmpdir,
  unique,
  sleep,
  waitFor,
  REPO
}
