/**
 * The import rules between top-level folders, checked by `npm test`
 * (`npm run lint:imports`). The data path is device -> gateway -> ingest ->
 * store -> api, with the registry beside them; `core/` is the kernel they
 * share; `cli/` is the composition root and the only code that starts stages.
 */
const STAGES = 'core|registry|store|device-profiles|ingest|gateway|health|api|sensorthings|simulators|webhooks|metrics|lifecycle|cluster';

/** What each folder may import besides itself and packages. */
const ALLOWED = {
  core: [],
  'device-profiles': ['core'],
  registry: ['core'],
  store: ['core'],
  ingest: ['core', 'device-profiles', 'store'],
  gateway: ['core', 'ingest', 'store'],
  health: ['core', 'registry', 'store', 'device-profiles', 'ingest'],
  api: ['core', 'registry', 'store', 'device-profiles', 'ingest', 'sensorthings', 'lifecycle'],
  // The OGC SensorThings API: a read-only query surface over the registry and the store; api/ serves it.
  sensorthings: ['core', 'registry', 'store', 'device-profiles'],
  simulators: ['core', 'device-profiles'],
  // Webhooks read the bus and the registry's outbox; metrics wrap stages' interfaces (types only, as decorators).
  webhooks: ['core', 'registry'],
  metrics: ['core', 'store', 'ingest', 'gateway', 'registry'],
  // The end of a pilot (exports, erasure, retention) works over the registry and the stores; api/ reaches it as types.
  lifecycle: ['core', 'registry', 'store', 'device-profiles'],
  // Several gateway nodes on one Redis: the connection, the broker's bus and sessions, presence, live relay, shared limits and resends.
  // It takes nothing of the stages: they declare the seams (gateway deps.broker, ingest deps.resends, api deps.rateBuckets), cli/ wires them.
  cluster: ['core'],
  // The web console runs in the browser and talks to the API over HTTP only.
  console: [],
};

const folderRules = Object.entries(ALLOWED).map(([folder, allowed]) => ({
  name: `${folder}-imports`,
  comment: `${folder}/ may import only ${allowed.length ? allowed.join(', ') : 'packages and Node built-ins'} (see ${folder}/README.md)`,
  severity: 'error',
  from: { path: `^${folder}/` },
  to: { path: '^[^/]+/', pathNot: [`^(${[folder, ...allowed].join('|')})/`, '^node_modules/'], dependencyTypesNot: ['core', 'npm', 'npm-dev'] },
}));

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: 'entry-files-only',
      comment: "A folder reaches another folder only through its entry file (index.ts); the rest is that folder's own business.",
      severity: 'error',
      from: { path: `^(${STAGES}|cli|bench)/` },
      to: { path: `^(${STAGES})/`, pathNot: ['^$1/', `^(${STAGES})/index\\.ts$`] },
    },
    {
      name: 'stages-share-types-only',
      comment: 'A stage does not run another stage: gateway and api take ingest as types, and the composition root hands them the running stage.',
      severity: 'error',
      from: { path: '^(gateway|health|api)/' },
      to: { path: '^(ingest|gateway|health|api|lifecycle)/', pathNot: ['^$1/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make start order and tests fragile.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js'] },
  },
};
