/**
 * The shape of src/: every folder has its import rule (eslint.layers.js) and each rule fires; no
 * import cycle, type-only ones included; no source file over 400 lines; the login in a handful of
 * files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../eslint.layers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');
const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The project's own configuration, without type information (the probes are not on disk). */
const eslint = new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import rules', () => {
  it('every folder of src/ has one, and none names a folder that is not there', () => {
    expect(Object.keys(LAYERS).sort()).toEqual([...folders].sort());
    for (const { folders: allowed } of Object.values(LAYERS)) {
      for (const folder of allowed) expect(folders).toContain(folder);
    }
  });

  it.each(Object.keys(LAYERS))(
    '%s/: refuses a folder it may not import, takes one it may',
    async (folder) => {
      const layer = LAYERS[folder]!;
      const refused = folders.find((f) => f !== folder && !layer.folders.includes(f));
      for (const [file, up] of [
        [`src/${folder}/probe.ts`, '../'],
        [`src/${folder}/sub/probe.ts`, '../../'],
      ] as const) {
        if (refused !== undefined) {
          expect(
            await restricted(file, `import { x } from '${up}${refused}/x.js';\nexport { x };\n`),
          ).not.toEqual([]);
        }
        // The composition root is nobody's to import, and nothing leaves src/.
        expect(await restricted(file, `import { x } from '${up}app.js';\nexport { x };\n`)).not.toEqual([]);
        expect(await restricted(file, `import { x } from '${up}../test/x.js';\nexport { x };\n`)).not.toEqual(
          [],
        );
        for (const allowed of layer.folders) {
          // A folder it may import only some files of: one of those is taken, any other refused.
          const only = layer.only?.[allowed];
          const target = only === undefined ? `${allowed}/x.js` : `${allowed}/${only[0]}`;
          expect(await restricted(file, `import { x } from '${up}${target}';\nexport { x };\n`)).toEqual([]);
          if (only !== undefined) {
            expect(
              await restricted(file, `import { x } from '${up}${allowed}/x.js';\nexport { x };\n`),
            ).not.toEqual([]);
          }
        }
      }
      expect(
        await restricted(`src/${folder}/probe.ts`, `import { x } from './x.js';\nexport { x };\n`),
      ).toEqual([]);
      if (layer.packages !== 'any') {
        expect(
          await restricted(`src/${folder}/probe.ts`, `import x from 'left-pad';\nexport { x };\n`),
        ).not.toEqual([]);
        for (const pkg of layer.packages) {
          expect(
            await restricted(`src/${folder}/probe.ts`, `import x from '${pkg}';\nexport { x };\n`),
          ).toEqual([]);
        }
      }
    },
  );
});

describe('the source tree', () => {
  const files = sourceFiles(SRC);

  it('has no import cycle, type-only imports included', () => {
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const deps = [
        ...text.matchAll(/(?:(?:import|export)\s[^'"]*?from\s*|import\s*\(?\s*)'(\.[^']+)'/g),
      ].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
      graph.set(
        file,
        deps.filter((dep) => graph.has(dep) || files.includes(dep)),
      );
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) {
        if (state.get(dep) === 'open') {
          cycles.push([...path.slice(path.indexOf(dep)), dep].map((f) => relative(SRC, f)).join(' → '));
        } else if (state.get(dep) === undefined) visit(dep, [...path, dep]);
      }
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file, [file]);
    expect(cycles).toEqual([]);
  });

  it('has no file over 400 lines, and the login in at most 1,500', () => {
    const lines = (file: string) => readFileSync(file, 'utf8').split('\n').length - 1;
    const long = files
      .filter((file) => lines(file) > 400)
      .map((file) => `${relative(SRC, file)}: ${lines(file)}`);
    expect(long).toEqual([]);
    const login = files.filter((file) => relative(SRC, file).startsWith(join('relay', 'login')));
    expect(login.reduce((sum, file) => sum + lines(file), 0)).toBeLessThanOrEqual(1_500);
  });
});
