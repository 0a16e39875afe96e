import { readFileSync } from 'node:fs';

/** Self size per `type:name` of a V8 heap snapshot (objects by constructor, code by kind). */
export function heapCensus(path: string): Map<string, { size: number; count: number }> {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const census = new Map<string, { size: number; count: number }>();
  for (let index = 0; index < snapshot.nodes.length; index += width) {
    const type = types[snapshot.nodes[index + typeAt]!] ?? '?';
    const named = type === 'object' || type === 'native' || type === 'code' || type === 'hidden';
    const key = named ? `${type}:${snapshot.strings[snapshot.nodes[index + nameAt]!]?.slice(0, 60)}` : type;
    const entry = census.get(key) ?? { size: 0, count: 0 };
    entry.size += snapshot.nodes[index + sizeAt]!;
    entry.count += 1;
    census.set(key, entry);
  }
  return census;
}

/** The entries that grew most from `before` to `after`, as lines. */
export function censusGrowth(
  before: Map<string, { size: number; count: number }>,
  after: Map<string, { size: number; count: number }>,
  top = 25,
): string[] {
  const rows = [...after].map(([key, entry]) => {
    const old = before.get(key) ?? { size: 0, count: 0 };
    return { key, size: entry.size - old.size, count: entry.count - old.count };
  });
  const total = rows.reduce((sum, row) => sum + row.size, 0);
  return [
    `heap self size ${total >= 0 ? '+' : ''}${(total / 1024).toFixed(0)} kB in all; most grown:`,
    ...rows
      .sort((a, b) => b.size - a.size)
      .slice(0, top)
      .map(
        (row) =>
          `${`${row.size >= 0 ? '+' : ''}${(row.size / 1024).toFixed(1)} kB`.padStart(12)}  ` +
          `${`${row.count >= 0 ? '+' : ''}${row.count}`.padStart(7)} objects  ${row.key}`,
      ),
  ];
}
