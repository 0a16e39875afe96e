/**
 * What each folder of src/ may import besides itself and Node's built-ins: the layers only point
 * down (docs/design.md). eslint.config.js turns every entry into a `no-restricted-imports` rule;
 * test/architecture/layers.test.ts checks that every folder of src/ has one and that each fires.
 *
 * `folders`: the other folders of src/ it may import (files at the root of src/, the composition
 * root, are never importable). `packages`: the npm packages it may import, or `'any'`. `files`:
 * files of those folders it may not import all the same. `only`: for a folder it may import, the
 * only files of it it may.
 */
export const LAYERS = {
  shared: { folders: [], packages: ['pino'] },
  contract: { folders: [], packages: [] },
  domain: { folders: ['shared'], packages: [] },
  // croner: the planned logins' cron expressions (relay/schedule.ts).
  relay: { folders: ['domain', 'contract', 'shared'], packages: ['croner'] },
  broker: { folders: ['relay', 'domain', 'shared'], packages: ['undici'] },
  // contract/ and redis/: `otp-relay code`'s messages and channels (operators/cli-inbox.ts).
  operators: { folders: ['relay', 'domain', 'contract', 'redis', 'shared'], packages: ['discord.js'] },
  store: {
    folders: ['relay', 'domain', 'contract', 'redis', 'shared'],
    packages: ['keyv', '@keyv/redis', '@redis/client'],
  },
  audit: { folders: ['relay', 'domain', 'store', 'redis', 'shared'], packages: [] },
  metrics: { folders: ['relay', 'domain', 'operators', 'shared'], packages: ['prom-client'] },
  http: { folders: ['relay', 'shared'], packages: [] },
  sandbox: { folders: ['domain', 'shared'], packages: [] },
  config: { folders: ['domain', 'redis', 'shared'], packages: ['croner'] },
  // Every Redis connection, the client library's too: no package but @redis/client, and none of
  // shared/ that imports one (log.js: pino).
  redis: { folders: ['shared'], packages: ['@redis/client'], files: ['shared/log.js'] },
  // Packed on its own for the bots: the wire format, the Redis connections, shared helpers and
  // @redis/client only.
  client: { folders: ['contract', 'redis', 'shared'], packages: ['@redis/client'], files: ['shared/log.js'] },
  // `otp-relay code`: the relay's Redis settings, its connections, the CLI's messages, and the
  // parser of codes, nothing else of operators/ (discord.js stays out of the CLI).
  cli: {
    folders: ['config', 'redis', 'contract', 'operators', 'domain', 'shared'],
    packages: [],
    only: { operators: ['parse-code.js'] },
  },
};

/** How deep below its folder a file of src/ may sit (src/relay/login/x.ts is 1). */
export const MAX_DEPTH = 3;

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * The `no-restricted-imports` patterns of one folder for files `depth` levels below it: a relative
 * import that leaves the folder must land in an allowed folder, and one that leaves src/ is refused.
 */
export function restrictedPatterns(folder, depth) {
  const { folders, packages, files = [], only = {} } = LAYERS[folder];
  const up = `(?:\\.\\./){${depth + 1}}`;
  const message = `${folder}/ imports only ${[...folders.map((f) => `${f}/`), ...(packages === 'any' ? ['any package'] : packages)].join(', ') || 'itself'} (docs/design.md, eslint.layers.js).`;
  const allowed = [folder, ...folders].map(escape).join('|');
  const patterns = [
    { regex: `^${up}(?!(?:${allowed})/)`, message },
    { regex: `^${up}\\.\\./`, message: `${folder}/: this import leaves src/.` },
  ];
  for (const file of files) {
    patterns.push({ regex: `^${up}${escape(file)}$`, message: `${folder}/ may not import ${file}.` });
  }
  for (const [other, allowedFiles] of Object.entries(only)) {
    patterns.push({
      regex: `^${up}${escape(other)}/(?!(?:${allowedFiles.map(escape).join('|')})$)`,
      message: `${folder}/ imports only ${allowedFiles.map((f) => `${other}/${f}`).join(', ')} of ${other}/.`,
    });
  }
  if (packages !== 'any') {
    const pkgs = packages.map(escape).join('|');
    patterns.push({ regex: `^(?!\\.|node:${pkgs === '' ? '' : `|(?:${pkgs})(?:/|$)`})`, message });
  }
  return patterns;
}
