// `npm run deps:check` (part of `npm test`): the import graph's rules. Type-only imports count
// (a cycle through types still ties the files together for a reader). The violations that existed
// when the check came are listed in .dependency-cruiser-known-violations.json (issue 14 removes
// them; regenerate the list with `npm run deps:baseline` only when one is gone): any new one fails.
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
        'The hub knows nothing of what plugs into it (mesh, sync, dispatch, dashboard, discovery): a composition root outside src/hub wires them.',
      from: { path: '^src/hub/' },
      to: { path: '^src/(mesh|sync|dispatch|dashboard|discovery|backplane|app)/' },
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', 'node_modules'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
