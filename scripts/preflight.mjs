// Before `npm test`: the system packages the tests use. Anything missing stops the run with one
// line that says how to install it (Debian package names), and exit code 1.
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

const NEEDS = [
  { what: 'redis-server', pkg: 'redis-server', found: () => onPath('redis-server') }, // tests start their own
  { what: 'redis-cli', pkg: 'redis-tools', found: () => onPath('redis-cli') }, // creates the Redis Cluster of test/system/redis-topologies
  { what: '/usr/bin/chromium', pkg: 'chromium', found: () => executable('/usr/bin/chromium') }, // the Swagger UI test
  { what: 'promtool', pkg: 'prometheus', found: () => onPath('promtool') }, // the alert rule tests
]

function executable(file) {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath(command) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)))
}

const missing = NEEDS.filter((need) => !need.found())
if (missing.length > 0) {
  const them = missing.length === 1 ? 'it' : 'them'
  process.stderr.write(
    `creditgate: npm test needs ${missing.map((m) => m.what).join(', ')} — install ${them} with: apt-get install -y ${missing.map((m) => m.pkg).join(' ')}\n`,
  )
  process.exit(1)
}
