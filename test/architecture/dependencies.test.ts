/**
 * Enforces the dependency rules in .dependency-cruiser.cjs as part of `npm test`
 * (same rules as `npm run deps:check`, plus a precise module-level cycle check,
 * see depcruise.ts).
 *
 * (a) the real src/ tree has no violations — on failure the message lists
 *     every violation as `<rule>: <from file> → <to file>`;
 * (b) every rule demonstrably fires, on fixture trees under ./fixtures.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchitectureReport } from './depcruise.ts';
import { checkArchitecture, formatViolations, MODULE_CYCLES_RULE } from './depcruise.ts';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** `<rule>: <from> → <to>` without the trailing "(…)" detail. */
const withoutDetail = (line: string): string => line.replace(/ \(.*\)$/, '');
const ruleOf = (line: string): string => line.slice(0, line.indexOf(':'));

describe('dependency rules: src/', () => {
  let report: ArchitectureReport;
  beforeAll(async () => {
    report = await checkArchitecture();
  });

  it('resolves local imports (otherwise every rule would pass vacuously)', () => {
    const deps = report.result.modules.flatMap((mod) =>
      mod.dependencies.map((dep) => ({ from: mod.source, ...dep })),
    );
    const local = deps.filter((dep) => dep.dependencyTypes.includes('local'));
    // Explicit `.ts` specifiers resolve to real files under src/ …
    expect(local.length).toBeGreaterThan(100);
    expect(local.every((dep) => dep.resolved.startsWith('src/') && dep.resolved.endsWith('.ts'))).toBe(true);
    // … `import type` edges are part of the graph (tsPreCompilationDeps) …
    expect(local.some((dep) => dep.dependencyTypes.includes('type-only'))).toBe(true);
    // … and no relative import is left unresolved.
    const unresolved = deps
      .filter((dep) => dep.couldNotResolve && dep.module.startsWith('.'))
      .map((dep) => `${dep.from} → ${dep.module}`);
    expect(unresolved, `unresolvable local imports:\n  ${unresolved.join('\n  ')}`).toEqual([

    ]);
  });

  it('has no dependency-rule violations', () => {
    expect(report.violations, formatViolations(report.violations)).toEqual([]);
  });
});

describe('dependency rules: fixtures prove each rule fires', () => {
  let violations: string[];
  let result: ArchitectureReport['result'];
  beforeAll(async () => {
    ({ violations, result } = await checkArchitecture(path.join(fixtures, 'violations')));
  });

  it.each([
    'plugins-lib-not-to-modules',
    'lib-not-to-plugins',
    'nothing-imports-app-or-server',
    'lib-not-to-generated',
    MODULE_CYCLES_RULE,
    'no-foreign-store',
  ])('reports %s', (rule) => {
    expect(violations.map(ruleOf), formatViolations(violations)).toContain(rule);
  });

  it('reports exactly the planted violations, and none of the allowed imports', () => {
    expect(violations.map(withoutDetail), formatViolations(violations)).toEqual([
      'lib-not-to-generated: src/lib/imports-generated.ts → src/generated/prisma/client.ts',
      'lib-not-to-plugins: src/lib/imports-plugin.ts → src/plugins/ok-plugin.ts',
      'no-foreign-store: src/modules/gamma/uses-foreign-stores.ts → src/modules/alpha/alpha.store.ts',
      'no-foreign-store: src/modules/gamma/uses-foreign-stores.ts → src/modules/beta/store/beta-store.ts',
      'no-module-cycles: src/modules/alpha/to-beta.ts → src/modules/beta/leaf.ts',
      'no-module-cycles: src/modules/beta/to-alpha.ts → src/modules/alpha/leaf.ts',
      'nothing-imports-app-or-server: src/modules/gamma/imports-app.ts → src/app.ts',
      'plugins-lib-not-to-modules: src/plugins/imports-module.ts → src/modules/alpha/alpha.service.ts',
    ]);
  });

  it('catches the module cycle with the config rule alone (so `npm run deps:check` does too)', () => {
    const fromConfig = result.summary.violations
      .filter((violation) => violation.rule.name === MODULE_CYCLES_RULE)
      .map((violation) => `${violation.from} → ${violation.to}`)
      .sort();
    expect(fromConfig).toEqual(['src/modules/alpha → src/modules/beta', 'src/modules/beta → src/modules/alpha']);
  });

  it('reports a module cycle that closes through a sub-folder of a module', async () => {
    const nested = await checkArchitecture(path.join(fixtures, 'nested-cycle'));
    expect(nested.violations.map(withoutDetail), formatViolations(nested.violations)).toEqual([
      'no-module-cycles: src/modules/delta/to-epsilon-sub.ts → src/modules/epsilon/sub/leaf.ts',
      'no-module-cycles: src/modules/epsilon/to-delta.ts → src/modules/delta/leaf.ts',
    ]);
  });
});
