/**
 * Runs dependency-cruiser with the repo's .dependency-cruiser.cjs through its JS
 * API and turns the result into one line per violation:
 *
 *   <rule name>: <from file> → <to file>
 *
 * Used by dependencies.test.ts both on the real src/ tree and on the fixture
 * trees under ./fixtures (which violate each rule on purpose).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, format } from 'dependency-cruiser';
import type { ICruiseOptions, ICruiseResult, IModule, IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const configFile = path.join(repoRoot, '.dependency-cruiser.cjs');
const tsConfigFile = path.join(repoRoot, 'tsconfig.json');

/** Must match the folder-level rule's name in .dependency-cruiser.cjs. */
export const MODULE_CYCLES_RULE = 'no-module-cycles';
/** One node per feature module: src/modules/<name>. */
export const MODULE_FOLDER_PATTERN = '^src/modules/[^/]+';
/** A node of the collapsed graph that is a whole module (not a file outside src/modules). */
const collapsedModuleRe = /^src\/modules\/[^/]+$/;

export interface ArchitectureReport {
  /** Sorted, de-duplicated `<rule>: <from> → <to>` lines. Empty when the tree is clean. */
  violations: string[];
  /** The raw cruise result, for sanity checks on resolution. */
  result: ICruiseResult;
}

/**
 * Cruise `src` under `baseDir` (the repo root, or a fixture root containing a
 * `src/` folder) with the repo's rules and return every violation.
 */
export async function checkArchitecture(baseDir: string = repoRoot): Promise<ArchitectureReport> {
  const options: ICruiseOptions = await extractDepcruiseOptions(configFile);
  // Relative file names in the config are meant relative to the repo root; make
  // them absolute so a fixture baseDir resolves with the same tsconfig.
  options.tsConfig = { fileName: tsConfigFile };
  options.baseDir = baseDir;

  const tsConfig = extractTSConfig(tsConfigFile);
  const { output } = await cruise(['src'], options, {}, { tsConfig });
  const result = output as ICruiseResult;

  // Keyed by `<rule>: <from> → <to>` so an import reported by both the folder
  // rule and the collapsed-graph check shows up once.
  const lines = new Map<string, string>();
  const add = ({ key, detail }: Line): void => {
    if (!lines.has(key)) lines.set(key, key + detail);
  };
  for (const violation of result.summary.violations) describe(violation, result.modules).forEach(add);
  (await moduleFolderCycles(result)).forEach(add);

  return { violations: [...lines.values()].sort(), result };
}

interface Line {
  /** `<rule>: <from> → <to>` */
  key: string;
  /** Extra context appended to the key, e.g. the folder cycle. */
  detail: string;
}

/** Pretty-print the violation list for an assertion message. */
export function formatViolations(violations: readonly string[]): string {
  if (violations.length === 0) return 'no dependency-rule violations';
  return [
    `${violations.length} dependency-rule violation(s) (rules: .dependency-cruiser.cjs):`,
    ...violations.map((line) => `  ${line}`),
  ].join('\n');
}

/**
 * File-level violations map 1:1 onto a line. Folder-level ones (from the
 * `scope: "folder"` cycle rule) are expanded into the file imports that make
 * up the folder edge, so the output always names files.
 */
function describe(violation: IViolation, modules: readonly IModule[]): Line[] {
  const rule = violation.rule.name;
  // Folder-scope violations name folders, not files (type "cycle" for our rule;
  // dependency-cruiser reports "folder" for other folder rules, outside its types).
  const isFolderViolation = !modules.some((mod) => mod.source === violation.from);
  if (isFolderViolation) {
    const detail = violation.cycle?.length
      ? ` (folder cycle: ${[violation.from, ...violation.cycle.map((step) => step.name)].join(' → ')})`
      : ' (folder dependency)';
    const edges = fileEdgesBetweenFolders(modules, violation.from, violation.to, true);
    if (edges.length === 0) return [{ key: `${rule}: ${violation.from} → ${violation.to}`, detail }];
    return edges.map(([from, to]) => ({ key: `${rule}: ${from} → ${to}`, detail }));
  }
  return [{ key: `${rule}: ${violation.from} → ${violation.to}`, detail: '' }];
}

/**
 * Imports from files under `fromFolder` to files under `toFolder`. With
 * `toDirectChildrenOnly` the target must sit directly in `toFolder` (that is
 * how dependency-cruiser's folder graph draws its edges).
 */
function fileEdgesBetweenFolders(
  modules: readonly IModule[],
  fromFolder: string,
  toFolder: string,
  toDirectChildrenOnly: boolean,
): Array<[string, string]> {
  const edges: Array<[string, string]> = [];
  for (const mod of modules) {
    if (!mod.source.startsWith(`${fromFolder}/`)) continue;
    for (const dep of mod.dependencies) {
      const inTarget = toDirectChildrenOnly
        ? path.posix.dirname(dep.resolved) === toFolder
        : dep.resolved.startsWith(`${toFolder}/`);
      if (inTarget) edges.push([mod.source, dep.resolved]);
    }
  }
  return edges;
}

/**
 * Precise module-level cycle check, complementing the `scope: "folder"` rule.
 *
 * dependency-cruiser's folder graph points an edge at the *directory of the
 * imported file*, so `a/x.ts → b/sub/y.ts` is an edge to `src/modules/b/sub`,
 * not to `src/modules/b`, and a cycle through a module's sub-folder can slip
 * through. (The `collapse` cruise option does not help the rule itself: it is
 * applied when reporting, after the rules have been validated.) Here we let
 * dependency-cruiser collapse the finished graph to one node per module
 * (`format(…, { collapse: '^src/modules/[^/]+' })`, its own consolidation) and look for
 * strongly connected components in that graph. Every module → module edge
 * inside a component is a `no-module-cycles` violation, reported per file
 * import.
 */
async function moduleFolderCycles(result: ICruiseResult): Promise<Line[]> {
  const { output } = await format(result, { outputType: 'json', collapse: MODULE_FOLDER_PATTERN });
  const collapsed = JSON.parse(output as string) as ICruiseResult;

  const graph = new Map<string, Set<string>>();
  for (const mod of collapsed.modules) {
    const targets = graph.get(mod.source) ?? new Set<string>();
    for (const dep of mod.dependencies) {
      if (dep.resolved !== mod.source) targets.add(dep.resolved);
    }
    graph.set(mod.source, targets);
  }

  const lines: Line[] = [];
  for (const component of stronglyConnectedComponents(graph)) {
    const moduleMembers = new Set(component.filter((node) => collapsedModuleRe.test(node)));
    const detail = ` (modules in a cycle: ${[...moduleMembers].sort().join(', ')})`;
    for (const from of moduleMembers) {
      for (const to of graph.get(from) ?? []) {
        if (!moduleMembers.has(to)) continue;
        for (const [fromFile, toFile] of fileEdgesBetweenFolders(result.modules, from, to, false)) {
          lines.push({ key: `${MODULE_CYCLES_RULE}: ${fromFile} → ${toFile}`, detail });
        }
      }
    }
  }
  return lines;
}

/** Tarjan's algorithm; returns only components with more than one node. */
function stronglyConnectedComponents(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];

  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component);
    }
  };

  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}
