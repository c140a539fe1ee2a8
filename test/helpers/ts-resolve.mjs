// The fast unit lane (npm run test:unit) runs the TypeScript sources with Node's own type stripping
// (tsconfig's erasableSyntaxOnly keeps them strippable); this hook lets a .ts file's `./x.js` import,
// which tsc needs, load ./x.ts. The full suite keeps tap's ts-node loader (source maps for coverage).
import { existsSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { fileURLToPath } from 'node:url'

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const ts = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL)
      if (existsSync(fileURLToPath(ts))) return next(ts.href, context)
    }
    return next(specifier, context)
  },
})
