import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

/**
 * The repository explains itself (docs/contract.md#running): no file refers to the design or broker
 * notes that once lived outside it, no relative path leaves it, and every link of its Markdown and
 * every `docs/….md#anchor` named in a file lands on a real file and heading.
 */

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Tracked files, and new ones git does not ignore (so a file not yet added is checked too). */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return [...new Set(listed.split('\0').filter((path) => path !== ''))].sort();
}

/** Generated, and names other projects' files by the thousand. */
const NOT_SCANNED: ReadonlySet<string> = new Set(['package-lock.json']);

interface TextFile {
  /** Relative to the repository's root, with `/`. */
  readonly path: string;
  readonly text: string;
}

/** Every file of the repository that is text (no NUL byte), except {@link NOT_SCANNED}. */
function textFiles(): TextFile[] {
  return repositoryFiles().flatMap((path) => {
    if (NOT_SCANNED.has(path)) return [];
    const absolute = join(REPO_ROOT, path);
    // Listed but deleted in the working tree, or a directory (a submodule): nothing to read.
    if (!existsSync(absolute) || !statSync(absolute).isFile()) return [];
    const bytes = readFileSync(absolute);
    return bytes.includes(0) ? [] : [{ path, text: bytes.toString('utf8') }];
  });
}

/** `file:line: excerpt` of a match at `index`. */
function where(file: TextFile, index: number): string {
  const line = file.text.slice(0, index).split('\n').length;
  const excerpt = file.text.split('\n')[line - 1]!.trim().slice(0, 120);
  return `${file.path}:${line}: ${excerpt}`;
}

// Built from parts so that this file does not name them itself.
const OUTSIDE_NOTES = new RegExp(`\\b(?:${['DESIGN', 'ETNA'].join('|')})\\.md\\b`, 'g');

/** A run of `../` that does not continue a longer path (`a/../b` is left alone). */
const PARENT_STEPS = /(?<![\w./-])(?:\.\.\/)+/g;

/**
 * Where a file's relative paths are resolved from. bench/ is compiled to .bench-build/bench/ and
 * resolves the root from there, one level deeper (see bench/lib/child.ts).
 */
function baseDirectories(path: string): string[] {
  const own = dirname(join(REPO_ROOT, path));
  return path.startsWith('bench/') ? [own, dirname(join(REPO_ROOT, '.bench-build', path))] : [own];
}

function isInside(absolute: string): boolean {
  return absolute === REPO_ROOT || absolute.startsWith(REPO_ROOT + sep);
}

/** `../` runs that leave the repository from every place the file is read from. */
function escapingPaths(file: TextFile): string[] {
  return [...file.text.matchAll(PARENT_STEPS)]
    .filter((match) => baseDirectories(file.path).every((base) => !isInside(resolve(base, match[0]))))
    .map((match) => where(file, match.index));
}

/** The text with fenced code blocks and inline code blanked out, line breaks kept. */
function proseOf(markdown: string): string {
  const blank = (code: string): string => code.replace(/[^\n]/g, ' ');
  return markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, blank).replace(/`+[^`\n]*`+/g, blank);
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings, repeats numbered as GitHub numbers them. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const withoutCode = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(heading!);
    let anchor = base;
    for (let repeat = 1; anchors.has(anchor); repeat += 1) anchor = `${base}-${repeat}`;
    anchors.add(anchor);
  }
  return anchors;
}

/**
 * Why `target` (`path#anchor`, its path relative to the directory `base`; `#anchor` alone: in
 * `ownFile`) does not land, or `undefined` when it does.
 */
function brokenTarget(
  base: string,
  ownFile: string,
  target: string,
  anchorsOfFile: (path: string) => Set<string>,
): string | undefined {
  const [pathPart = '', anchor] = target.split('#', 2);
  const absolute = pathPart === '' ? join(REPO_ROOT, ownFile) : resolve(base, pathPart);
  if (!isInside(absolute)) return 'leaves the repository';
  if (!existsSync(absolute)) return 'no such file';
  if (anchor !== undefined && anchor !== '' && absolute.endsWith('.md')) {
    if (!anchorsOfFile(relative(REPO_ROOT, absolute)).has(anchor)) return `no heading #${anchor}`;
  }
  return undefined;
}

const files = textFiles();
const byPath = new Map(files.map((file) => [file.path, file]));
const anchorCache = new Map<string, Set<string>>();
const anchorsOfFile = (path: string): Set<string> => {
  let anchors = anchorCache.get(path);
  if (anchors === undefined) {
    anchors = anchorsOf(byPath.get(path)?.text ?? readFileSync(join(REPO_ROOT, path), 'utf8'));
    anchorCache.set(path, anchors);
  }
  return anchors;
};

/** The Markdown whose links must land: the README and everything in docs/ (and any other .md). */
const markdownFiles = files.filter((file) => file.path.endsWith('.md'));

describe('the repository is self-contained', () => {
  it('scans the files it should', () => {
    expect(files.length).toBeGreaterThan(100);
    for (const path of [
      'README.md',
      'docs/README.md',
      'docs/contract.md',
      'docs/broker.md',
      'docs/design.md',
      'docs/discord-setup.md',
      'docs/behaviour.md',
      'docs/operations.md',
      'docs/development.md',
      'docs/benchmarks.md',
    ]) {
      expect(byPath.has(path), path).toBe(true);
    }
  });

  it('names no design or broker notes kept outside the repository', () => {
    const found = files.flatMap((file) =>
      [...file.text.matchAll(OUTSIDE_NOTES)].map((match) => where(file, match.index)),
    );
    expect(found, 'refer to docs/contract.md, docs/broker.md or docs/design.md instead').toEqual([]);
  });

  it('has no relative path that leaves the repository', () => {
    expect(files.flatMap(escapingPaths)).toEqual([]);
  });

  it('has Markdown links that land on a file (and heading) of the repository', () => {
    const broken = markdownFiles.flatMap((file) => {
      const prose = proseOf(file.text);
      return [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].flatMap((match) => {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return []; // https:, mailto:
        const why = brokenTarget(dirname(join(REPO_ROOT, file.path)), file.path, target, anchorsOfFile);
        return why === undefined ? [] : [`${where(file, match.index)} -> ${target}: ${why}`];
      });
    });
    expect(broken).toEqual([]);
  });

  it('names only docs/ files and headings that exist', () => {
    const broken = files.flatMap((file) =>
      [...file.text.matchAll(/(?<![\w./-])docs\/[\w.-]+\.md(?:#[\w-]+)?/g)].flatMap((match) => {
        const why = brokenTarget(REPO_ROOT, file.path, match[0], anchorsOfFile);
        return why === undefined ? [] : [`${where(file, match.index)} -> ${match[0]}: ${why}`];
      }),
    );
    expect(broken).toEqual([]);
  });
});

describe('slug', () => {
  it.each([
    ['Redis: what bots read', 'redis-what-bots-read'],
    ["The relay's own keys", 'the-relays-own-keys'],
    ['What is not documented, and what the relay does', 'what-is-not-documented-and-what-the-relay-does'],
    ['TypeScript: `otp-relay/client`', 'typescript-otp-relayclient'],
    ['Set up the Discord bot', 'set-up-the-discord-bot'],
  ])('%s -> #%s', (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });
});
