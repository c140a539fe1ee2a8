/** Zoho data centres: accounts server and Books API base (docs/zoho.md, OAuth). */
export const DATA_CENTRES = {
  com: { accounts: 'https://accounts.zoho.com', api: 'https://www.zohoapis.com/books/v3' },
  eu: { accounts: 'https://accounts.zoho.eu', api: 'https://www.zohoapis.eu/books/v3' },
  in: { accounts: 'https://accounts.zoho.in', api: 'https://www.zohoapis.in/books/v3' },
  'com.au': { accounts: 'https://accounts.zoho.com.au', api: 'https://www.zohoapis.com.au/books/v3' },
  jp: { accounts: 'https://accounts.zoho.jp', api: 'https://www.zohoapis.jp/books/v3' },
  ca: { accounts: 'https://accounts.zohocloud.ca', api: 'https://www.zohoapis.ca/books/v3' },
  'com.cn': { accounts: 'https://accounts.zoho.com.cn', api: 'https://www.zohoapis.com.cn/books/v3' },
  sa: { accounts: 'https://accounts.zoho.sa', api: 'https://www.zohoapis.sa/books/v3' },
} as const

export type DataCentre = keyof typeof DATA_CENTRES

export const ZOHO_ID = /^\d{1,19}$/

export interface ZohoCredentials {
  readonly clientId: string
  readonly clientSecret: string
  readonly refreshToken: string
}

interface ZohoSettings {
  /** zoho: a real organization; sandbox: the bundled Zoho Books sandbox (demos, development). */
  readonly mode: 'zoho' | 'sandbox'
  readonly dc: DataCentre
  readonly accountsUrl: string
  readonly apiBaseUrl: string
  readonly timeoutMs: number
  readonly requestsPerMinute: number
  readonly maxConcurrency: number
  /**
   * Calls of each organization's minute kept for decisions (ZOHO_CALLER_RESERVE): background
   * refreshes never take them, nor, with two or more caller keys, a caller over its fair part.
   */
  readonly reserve: number
  /** ZOHO_CALLER_RESERVE as set (undefined: each organization keeps ⌈B / 4⌉ of its own B). */
  readonly callerReserve: number | undefined
}

/**
 * How creditgate reaches Zoho. Without credentials (sandbox mode) there is nothing to reach yet:
 * server.ts starts the bundled sandbox and configures creditgate against it, as an operator would.
 */
export type ZohoConfig = ZohoSettings &
  (
    | { readonly credentials: ZohoCredentials; readonly organizationId: string; readonly organizationIds: readonly string[] }
    | {
        readonly credentials: undefined
        readonly organizationId: string | undefined
        readonly organizationIds: readonly string[] | undefined
      }
  )
