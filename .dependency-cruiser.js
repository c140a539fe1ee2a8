/**
 * The import-direction check (`npm run lint` runs it: `depcruise src`). Every import in src/
 * points down these layers, top to bottom; a module may import its own layer and any layer below,
 * never one above. The README's code map says what each layer holds. There is no baseline of known
 * violations: any violation fails the check.
 */
const LAYERS = [
  // Composition roots: they alone start processes and threads and may wire anything below.
  { name: 'roots', path: '^src/(server\\.ts$|cli/|workers/)' },
  { name: 'app', path: '^src/app\\.ts$' },
  { name: 'routes', path: '^src/routes/' },
  { name: 'plugins', path: '^src/plugins/' },
  // The OpenAPI examples and schema pruning: plugins/docs.ts and routes/problems.ts use them.
  { name: 'openapi', path: '^src/openapi/' },
  { name: 'services', path: '^src/services/' },
  { name: 'adapters', path: '^src/adapters/' },
  // The error catalogue, the problem+json schema and the configuration (config.ts and its sections in config/, organizations.ts): adapters are their lowest
  // users (a Zoho error is a Problem, a Redis link takes a RedisTarget). The engine and the domain
  // below know neither HTTP statuses nor the environment.
  { name: 'catalogue', path: '^src/((errors|problem-schema|config|organizations)\\.ts$|config/)' },
  // The pure rules engine: catalogue and contact-fields, schema, rule-set, bounds, compile, semantics, reference.
  { name: 'engine', path: '^src/rules/' },
  { name: 'domain', path: '^src/domain/' },
  { name: 'lib', path: '^src/lib/' },
]

const above = (i) => LAYERS.slice(0, i).map((layer) => layer.path)

const layerRules = LAYERS.slice(1).flatMap((layer, index) => {
  const i = index + 1
  // Ports live beside the services that need them (services/contacts.ts declares ContactCache);
  // an adapter implements one, so it may import the port's type from services/, and nothing else.
  if (layer.name === 'adapters') {
    const services = LAYERS.findIndex((l) => l.name === 'services')
    return [
      {
        name: 'adapters-import-down',
        severity: 'error',
        comment: 'adapters/ imports only the layers below it, and the port types of services/',
        from: { path: layer.path },
        to: { path: above(services) },
      },
      {
        name: 'adapters-import-only-port-types-from-services',
        severity: 'error',
        comment: 'an adapter may import a port (a type, `import type`) from services/, never code',
        from: { path: layer.path },
        to: { path: LAYERS[services].path, dependencyTypesNot: ['type-only'] },
      },
    ]
  }
  return [
    {
      name: `${layer.name}-import-down`,
      severity: 'error',
      comment: `${layer.name} imports only its own layer and those below it`,
      from: { path: layer.path },
      to: { path: above(i) },
    },
  ]
})

export default {
  forbidden: [
    ...layerRules,
    {
      name: 'src-file-in-a-layer',
      severity: 'error',
      comment: 'every module of src/ belongs to a layer or to one of the separate programs (sandbox, client, console)',
      from: { path: '^src/', pathNot: [...LAYERS.map((layer) => layer.path), '^src/(sandbox|client|console)/'] },
      to: {},
    },
    {
      name: 'sandbox-imports-only-the-sandbox',
      severity: 'error',
      comment:
        'the Zoho sandbox is a separate program with beliefs of its own about Zoho: a test can only catch a wrong belief of the service if the sandbox does not share it',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/', pathNot: '^src/sandbox/' },
    },
    {
      name: 'no-import-of-the-sandbox',
      severity: 'error',
      comment:
        'production code never imports the sandbox; the benchmark and the scale measurement (cli/bench.ts, cli/bench-evaluator.ts, cli/scale.ts) drive it as a test does, as the Zoho they measure against; server.ts is the one exception below',
      from: { path: '^src/', pathNot: '^src/(sandbox/|cli/(bench|bench-evaluator|scale)\\.ts$|server\\.ts$)' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'server-imports-the-sandbox-dynamically',
      severity: 'error',
      comment:
        'server.ts starts the bundled sandbox (sandbox/embedded.ts) in sandbox mode, `npm start` without credentials: by a dynamic import, so that the sandbox is never loaded otherwise',
      from: { path: '^src/server\\.ts$' },
      to: { path: '^src/sandbox/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'client-imports-only-the-client',
      severity: 'error',
      comment: 'the typed client (src/client/) is published to callers: it carries nothing of the service',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/client/' },
    },
    {
      name: 'console-imports-only-the-console-and-the-client',
      severity: 'error',
      comment: 'the console is browser code served as static files: it reaches the service through the public API only',
      from: { path: '^src/console/' },
      to: { path: '^src/', pathNot: '^src/(console|client)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no module reaches itself through its imports (type-only imports included): a reader can follow every file from the top',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'every relative import resolves to a file: an import the check cannot follow is an import it cannot judge',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: `import type` from a layer above is an arrow back up all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The generated OpenAPI types are data: one file, no imports.
    exclude: { path: '^src/client/schema\\.ts$' },
  },
}
