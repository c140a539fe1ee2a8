// `npm run build`: the console's static files beside the compiled code (dist/console). Offline: a copy.
import { cp } from 'node:fs/promises'

await cp(new URL('../src/console/', import.meta.url), new URL('../dist/console/', import.meta.url), { recursive: true })
