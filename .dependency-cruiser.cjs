// `npm run deps:check` (part of `npm test`): the import graph's rules. Type-only imports count
// (a cycle through types still ties the files together for a reader). There is no list of known
// violations: any violation fails.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle: these files can only be read, changed and loaded together. Break it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'hub-knows-no-capability',
      severity: 'error',
      comment:
        'The hub knows nothing of what plugs into it (mesh, backplane, sync, dispatch, dashboard, discovery): the composition root (src/start) wires them. Tests may compose a hub with anything, as the root does.',
      from: { path: '^src/hub/', pathNot: ['\\.test\\.ts$', '/test/'] },
      to: { path: '^src/(mesh|sync|dispatch|dashboard|discovery|backplane|start)/' },
    },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'src/core is under everything: it imports nothing else of Switchboard.',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'no-test-helper-in-shipped-code',
      severity: 'error',
      comment: 'Test helpers (test/ folders, *.test.ts) are not in the package: shipped code cannot import them.',
      from: { path: '^src/', pathNot: ['\\.test\\.ts$', '/test/', '/fixtures/'] },
      to: { path: ['/test/', '\\.test\\.ts$'] },
    },
    {
      name: 'sdk-stays-lean',
      severity: 'error',
      comment:
        'A connector process loads the SDK (switchboard/sync/sdk) before its handshake line, once per sync run: it reaches Node\'s built-ins and @grpc/grpc-js only. zod, proto-loader, an X.509 library or the store each added tens of ms to every run (src/sync/README.md, "A run\'s fixed cost").',
      from: { path: '^src/sync/sdk/index\\.ts$' },
      to: { path: 'node_modules', pathNot: 'node_modules/@grpc/grpc-js/', reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
