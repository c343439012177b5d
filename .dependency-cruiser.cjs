// @ts-check
/**
 * Dependency rules for the modular monolith (checked by `npm run deps:check`
 * and by test/architecture/dependencies.test.ts, which runs inside `npm test`).
 *
 * Layering, from top to bottom (a layer may only import layers below it):
 *
 *   src/server.ts → src/app.ts → src/modules/<name>/ → src/plugins/ → src/lib/, src/db/
 *
 * src/db/ is a low-level layer like src/lib/. src/generated/ is Prisma's
 * generated client: anything may import it except src/lib/.
 *
 * Paths in rules are relative to the directory the cruise runs from (the repo
 * root), e.g. `src/modules/rooms/room.store.ts`.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'plugins-lib-not-to-modules',
      comment:
        'src/plugins, src/lib and src/db sit below the feature modules: they must not ' +
        'import anything from src/modules. Move the shared code down into lib/plugins, ' +
        'or invert the dependency (the module registers itself / subscribes to an event).',
      severity: 'error',
      from: { path: '^src/(?:plugins|lib|db)/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'lib-not-to-plugins',
      comment:
        'src/lib and src/db are the lowest layers: they must not import src/plugins, ' +
        'nor the composition root (src/app.ts) or the entry point (src/server.ts).',
      severity: 'error',
      from: { path: '^src/(?:lib|db)/' },
      to: { path: '^src/(?:plugins/|app\\.ts$|server\\.ts$)' },
    },
    {
      name: 'nothing-imports-app-or-server',
      comment:
        'src/plugins and src/modules never import the composition root (src/app.ts) or ' +
        'the entry point (src/server.ts): those depend on them, not the other way round.',
      severity: 'error',
      from: { path: '^src/(?:plugins|modules)/' },
      to: { path: '^src/(?:app|server)\\.ts$' },
    },
    {
      name: 'lib-not-to-generated',
      comment:
        "src/lib is framework- and persistence-agnostic: it must not import Prisma's " +
        'generated client (src/generated). src/db and everything above it may.',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: '^src/generated/' },
    },
    {
      name: 'no-module-cycles',
      comment:
        'Feature modules (src/modules/<name>/) must not depend on each other in a cycle, ' +
        'directly (a → b → a) or through a longer chain (a → b → c → a). This is a ' +
        'FOLDER-level cycle: a/x.ts → b/y.ts plus b/z.ts → a/w.ts is a cycle even though ' +
        'no single file is part of a file-level cycle. `scope: "folder"` makes ' +
        'dependency-cruiser run this rule on its folder graph (every folder is a node; ' +
        'an edge A → B exists when a file under A imports a file whose directory is B). ' +
        'Caveat: the target of a folder edge is the directory of the imported file, so ' +
        'an import of src/modules/b/sub/f.ts lands on folder src/modules/b/sub, not on ' +
        'src/modules/b. The architecture test (test/architecture/depcruise.ts) therefore ' +
        'also checks the graph collapsed to ^src/modules/[^/]+ and reports any cycle it ' +
        'finds under this same rule name. A cycle through a lower layer ' +
        '(a → lib → plugins → a) can only exist while another rule is broken too; it is ' +
        'reported here as well, with the full folder path.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/modules/([^/]+)' },
      to: {
        path: '^src/modules/[^/]+',
        pathNot: '^src/modules/$1(?:/|$)',
        circular: true,
      },
    },
    {
      name: 'no-foreign-store',
      comment:
        "A module owns its persistence: no module imports another module's store, i.e. " +
        'a file named *.store.ts or anything in a store/ folder of src/modules/<other>/. ' +
        "Go through the other module's service / public API instead.",
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: {
        // <module>/store/…, <module>/…/store/… or <module>/…/*.store.ts (written without
        // nested quantifiers: dependency-cruiser rejects regexes that safe-regex flags)
        path: '^src/modules/[^/]+/(?:store/|.*/store/|.*\\.store\\.ts$)',
        pathNot: '^src/modules/$1/',
      },
    },
  ],
  options: {
    // Look into node_modules only to resolve a package, never to follow its imports.
    doNotFollow: { path: 'node_modules' },
    // Resolve the way tsc does (NodeNext, explicit `.ts` extensions).
    tsConfig: { fileName: 'tsconfig.json' },
    // Count dependencies that disappear after compilation too: `import type`,
    // `import { type X }` and imports only used as types.
    tsPreCompilationDeps: true,
    // The code base is ESM only (package.json "type": "module"); cjs for the odd
    // createRequire()/config file.
    moduleSystems: ['es6', 'cjs'],
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
  },
};
