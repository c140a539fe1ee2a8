/** The cookies of a request (`Cookie` header), by name; at most 50 read, values as sent. */
export function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (header ?? '').split(';').slice(0, 50)) {
    const at = part.indexOf('=')
    if (at > 0) cookies.set(part.slice(0, at).trim(), part.slice(at + 1).trim())
  }
  return cookies
}

/** A Set-Cookie value: HttpOnly and Path=/ always, Secure over HTTPS; maxAge 0 deletes it. */
export function cookie(name: string, value: string, options: { maxAge: number; secure: boolean; sameSite: 'Strict' | 'Lax' }): string {
  return `${name}=${value}; Path=/; Max-Age=${options.maxAge}; HttpOnly; SameSite=${options.sameSite}${options.secure ? '; Secure' : ''}`
}
