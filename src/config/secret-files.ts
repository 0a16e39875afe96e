import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import type { ConfigProblem } from './errors.js';
import type { ShownName } from './reader.js';
import { CONFIG_VARIABLES, FILE_SUFFIX, SECRET_FILE_VARIABLES } from './variables.js';

/**
 * A secret file is a password, a key or a URL: anything larger is the wrong file (a log, a device),
 * and reading it whole would only waste memory before the value is refused.
 */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** What {@link readSecretFiles} found. */
export interface SecretFiles {
  /** The environment with each secret read from its `*_FILE` in place of the variable. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The secrets whose value came from a file. */
  readonly fromFile: ReadonlySet<string>;
  /** The secrets whose file could not be read (reported under the `*_FILE` name). */
  readonly unreadable: ReadonlySet<string>;
  /** Both forms set, or a file that could not be read. Never a value or a file's content. */
  readonly problems: readonly ConfigProblem[];
}

/**
 * Reads every secret given as `NAME_FILE` (the path of a file that holds the value, as Docker and
 * Kubernetes mount secrets), so that the rest of the configuration reads `NAME` alone.
 *
 * The file's trailing line breaks are dropped (`echo secret > file` writes one); an empty file counts
 * as an unset variable, as an empty variable does, except for a secret with a default (`REDIS_URL`):
 * there the file was surely meant to hold a value, and falling back to the default would connect
 * somewhere else, so an empty file is a problem of `NAME_FILE`. `NAME` and `NAME_FILE` both set is a problem that
 * names both. A file that cannot be read is a problem of `NAME_FILE`, naming the path and the
 * reason, never the content.
 *
 * Only the secrets `env` has a name for are read (an account's view holds only its own variables).
 * `shown` names them in problems, as for {@link EnvReader}: `ACCOUNT_PAPER_ETNA_PASSWORD_FILE`.
 */
export function readSecretFiles(
  env: Readonly<Record<string, string | undefined>>,
  shown: ShownName = (variable) => variable,
): SecretFiles {
  const resolved: Record<string, string | undefined> = { ...env };
  const fromFile = new Set<string>();
  const unreadable = new Set<string>();
  const problems: ConfigProblem[] = [];

  for (const { name: fileVariable, secret } of SECRET_FILE_VARIABLES) {
    const path = env[fileVariable]?.trim();
    if (!path) continue;
    const secretName = shown(secret);
    const fileName = `${secretName}${FILE_SUFFIX}`;
    if (env[secret]?.trim()) {
      problems.push({
        variable: secretName,
        message: `${secretName} and ${fileName} are both set; set only one of them (values not shown)`,
      });
      continue;
    }
    const read = readSmallFile(path);
    if (!read.ok) {
      unreadable.add(secret);
      problems.push({
        variable: fileName,
        message: `cannot read ${JSON.stringify(path)} (${read.reason}); expected the path of a readable file that holds ${secretName}`,
      });
      continue;
    }
    const value = read.text.replace(/[\r\n]+$/, '');
    const fallback = CONFIG_VARIABLES.find((variable) => variable.name === secret)?.default;
    if (value.trim() === '' && fallback !== undefined) {
      // Empty counts as unset, and unset would mean the default: a Redis other than the one meant.
      unreadable.add(secret);
      problems.push({
        variable: fileVariable,
        message: `${JSON.stringify(path)} is empty; expected the path of a file that holds ${secret} (unset, it would mean ${fallback})`,
      });
      continue;
    }
    resolved[secret] = value;
    fromFile.add(secret);
  }
  return { env: resolved, fromFile, unreadable, problems };
}

type ReadResult =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** A regular file of at most {@link MAX_SECRET_FILE_BYTES}, as UTF-8. The reason never holds content. */
function readSmallFile(path: string): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { ok: false, reason: 'not a regular file' };
    if (stats.size > MAX_SECRET_FILE_BYTES) {
      return { ok: false, reason: `larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB` };
    }
    const buffer = Buffer.alloc(stats.size);
    let length = 0;
    while (length < buffer.length) {
      const count = readSync(fd, buffer, length, buffer.length - length, length);
      if (count === 0) break;
      length += count;
    }
    return { ok: true, text: buffer.subarray(0, length).toString('utf8') };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  } finally {
    closeSync(fd);
  }
}

/** The error's code (`ENOENT`, `EACCES`, `EISDIR`): a system error's message repeats the path. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unreadable';
}
