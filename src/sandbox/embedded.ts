import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SANDBOX_ORGANIZATION_ID, SANDBOX_SECOND_ORGANIZATION_ID } from './contacts.js'
import { createSandbox } from './sandbox.js'

/**
 * The sandbox's two organizations as an operator would describe them in ORGANIZATIONS_FILE: an
 * Indian company (INR, Asia/Kolkata) and its Gulf branch (AED, Asia/Dubai), whose own rules are
 * rules/10234696/, as one group (group_exposure_bcy). Their base currencies come from the sandbox's Get Organization.
 */
export const SANDBOX_ORGANIZATIONS = {
  organizations: [
    { organization_id: SANDBOX_ORGANIZATION_ID, name: 'Northwind Traders India', time_zone: 'Asia/Kolkata' },
    { organization_id: SANDBOX_SECOND_ORGANIZATION_ID, name: 'Northwind Gulf', time_zone: 'Asia/Dubai' },
  ],
  // One group: a customer linked through its Zoho CRM account owes in both (rates into INR: 1 AED = 22.6 INR).
  groups: [
    {
      id: 'northwind',
      organizations: [SANDBOX_ORGANIZATION_ID, SANDBOX_SECOND_ORGANIZATION_ID],
      link: 'zcrm_account_id',
      currency: 'INR',
      rates: { [SANDBOX_ORGANIZATION_ID]: 1, [SANDBOX_SECOND_ORGANIZATION_ID]: 22.6 },
    },
  ],
}

/**
 * The sandbox started inside creditgate's process (ZOHO_MODE=sandbox, `npm start` without
 * credentials), on a loopback port, and the environment that points creditgate at it (with an
 * ORGANIZATIONS_FILE of its own, in a temporary folder removed on close).
 */
export async function startEmbeddedSandbox() {
  const sandbox = createSandbox()
  const url = await sandbox.listen(0, '127.0.0.1')
  const dir = mkdtempSync(join(tmpdir(), 'creditgate-sandbox-'))
  const organizationsFile = join(dir, 'organizations.json')
  writeFileSync(organizationsFile, `${JSON.stringify(SANDBOX_ORGANIZATIONS, null, 2)}\n`)
  return {
    url,
    env: { ZOHO_MODE: 'sandbox', ...sandbox.creditgateEnv, ORGANIZATIONS_FILE: organizationsFile },
    close: async () => {
      await sandbox.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
