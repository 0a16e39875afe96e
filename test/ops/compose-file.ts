import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { REPO_ROOT } from './redis-server.js';

/** The repository's docker-compose.yml. */
export const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

/** Whether `docker-compose` (v1, Debian's package) runs here: `config` validates the file. */
export function hasDockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The lines of one service of the compose file, comments left out (no YAML parser among the
 * dependencies: the file is ours and indented by prettier, so its layout is known). Also works on
 * `docker-compose config`'s output, which indents services the same way.
 */
export function service(text: string, name: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  if (start < 0) throw new Error(`no service ${name} in docker-compose.yml`);
  const end = lines.findIndex((line, index) => index > start && /^ {0,2}\S/.test(line));
  return lines
    .slice(start, end < 0 ? undefined : end)
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
}

/** The names of the services under `services:`, in the file's order. */
export function serviceNames(text: string): string[] {
  const block = /^services:\n([\s\S]*?)^\S/m.exec(text)?.[1] ?? '';
  return [...block.matchAll(/^ {2}([a-z][\w-]*):$/gm)].map((match) => match[1]!);
}
