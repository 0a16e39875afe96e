import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES } from '../../src/config/index.js';

const CONTRACT = readFileSync(new URL('../../docs/contract.md', import.meta.url), 'utf8');

/** The text of `## Configuration`, up to its first subsection. */
function configurationSection(): string {
  const start = CONTRACT.indexOf('\n## Configuration\n');
  const end = CONTRACT.indexOf('\n#', start + 1);
  expect(start, 'docs/contract.md has a "## Configuration" section').toBeGreaterThan(0);
  return CONTRACT.slice(start, end);
}

/** The tables of a Markdown text: their body rows, each a list of cells. */
function tables(text: string): string[][][] {
  const found: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((cell) => cell.trim());
    if (current === undefined) found.push((current = []));
    // The header row comes first, then the delimiter row: keep the rows after both.
    current.push(cells);
  }
  return found.map((rows) => rows.slice(2));
}

/** The variable names of a first cell: `` `A`, `B` `` gives A and B. */
function names(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}

describe('docs/contract.md, "Configuration"', () => {
  const [implemented = [], planned = []] = tables(configurationSection());

  it('lists every variable the relay reads, in the order of CONFIG_VARIABLES, one a row', () => {
    expect(implemented.map(([first = '']) => names(first))).toEqual(CONFIG_VARIABLES.map((v) => [v.name]));
  });

  it("gives each its default as the relay has it: the value, 'required' or 'none'", () => {
    const defaults = implemented.map((row) => row[1]);
    expect(defaults).toEqual(
      CONFIG_VARIABLES.map((v) =>
        v.required ? 'required' : v.default === undefined ? 'none' : `\`${v.default}\``,
      ),
    );
  });

  it('marks as planned only variables the relay does not read yet (move them up once it does)', () => {
    const plannedNames = planned.flatMap(([first = '']) => names(first));
    const read = new Set<string>(CONFIG_VARIABLES.map((v) => v.name));
    expect(plannedNames.filter((name) => read.has(name))).toEqual([]);
  });
});

describe('docs/contract.md, "Several accounts"', () => {
  const start = CONTRACT.indexOf('\n### Several accounts\n');
  const section = CONTRACT.slice(start, CONTRACT.indexOf('\n## ', start + 1));

  /** The names in backticks of the list item that starts with `label`. */
  function item(label: string): string[] {
    const from = section.indexOf(`\n- ${label}`);
    expect(from, `a "${label}" item`).toBeGreaterThan(0);
    const text = section.slice(from + 1, section.indexOf('\n- ', from + 1));
    return names(text);
  }

  it('lists the per-account variables as CONFIG_VARIABLES marks them, in its order', () => {
    const perAccount = CONFIG_VARIABLES.filter((v) => v.perAccount).map((v) => v.name);
    // The item also writes `_FILE` for the secrets' file variants.
    expect(item('Per account:').filter((name) => name !== '_FILE')).toEqual(perAccount);
  });

  it('lists as global only the variables CONFIG_VARIABLES marks global', () => {
    const listed = item('Global only:').filter((name) => /^[A-Z][A-Z0-9_]*$/.test(name));
    const global: string[] = CONFIG_VARIABLES.filter((v) => !v.perAccount).map((v) => v.name);
    const covered = (name: string): boolean =>
      listed.includes(name) || (name.startsWith('REDIS_') && section.includes('every `REDIS_*`'));
    expect(global.filter((name) => !covered(name))).toEqual([]);
    expect(listed.filter((name) => !global.includes(name))).toEqual([]);
  });
});
