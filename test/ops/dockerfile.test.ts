import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { validate } from 'dockerfile-utils';
import { beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from './redis-server.js';

/** One instruction of the Dockerfile, its continuation lines joined. */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly name: string | undefined;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

function instructionsOf(text: string): Instruction[] {
  const result: Instruction[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const start = index;
    let joined = line;
    while (joined.endsWith('\\') && index + 1 < lines.length) {
      joined = `${joined.slice(0, -1)} ${lines[++index]!.trim()}`;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(joined);
    if (match === null) throw new Error(`Dockerfile line ${start + 1}: not an instruction`);
    result.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  return result;
}

function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: { name: string | undefined; from: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, from, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** COPY's sources and destination, and its --from stage; other flags dropped. */
function copyOf(instruction: Instruction): { from: string | undefined; sources: string[]; dest: string } {
  const words = instruction.args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Whether .dockerignore (an allow-list: `*`, then `!path` lines) lets `path` into the context. */
function inContext(dockerignore: string, path: string): boolean {
  const allowed = dockerignore
    .split('\n')
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/\/$/, ''));
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '');
  return allowed.some((entry) => clean === entry || clean.startsWith(`${entry}/`));
}

/** A diagnostic's text: a string, or markup with a `value`. */
function messageOf(diagnostic: { message: string | { value: string } }): string {
  return typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
}

describe('Dockerfile', () => {
  let text: string;
  let dockerignore: string;
  let stages: Stage[];

  beforeAll(async () => {
    text = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    dockerignore = await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8');
    stages = stagesOf(instructionsOf(text));
  });

  it('passes dockerfile-utils, the linter of the Docker language server, without a finding', () => {
    const findings = validate(text).map(
      (d) => `line ${d.range.start.line + 1}: ${messageOf(d)} (severity ${d.severity})`,
    );
    expect(findings).toEqual([]);
  });

  it('the linter does find a broken Dockerfile (so that the check above means something)', () => {
    const broken = text.replace(/^USER node$/m, 'USER').replace(/--interval=30s/, '--interval=soon');
    const messages = validate(broken).map(messageOf);
    expect(messages).toContain('Instruction has no arguments');
    expect(messages.join('\n')).toMatch(/invalid duration soon/);
  });

  it('builds in three stages from one Node 24 base: deps, build, and the runtime', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'build', undefined]);
    for (const stage of stages) expect(stage.from).toBe('${NODE_IMAGE}');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24-[a-z]+-slim$/m);
  });

  it('installs only production dependencies into the runtime, without install scripts', () => {
    const [deps, build] = stages;
    const run = (stage: Stage | undefined) =>
      stage!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(run(deps).join('\n')).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(run(build).join('\n')).toMatch(/npm ci --ignore-scripts/);
    expect(run(build).join('\n')).toContain('npm run build');
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const names = stages.map((s) => s.name).filter((n) => n !== undefined);
    let copies = 0;
    for (const stage of stages) {
      for (const instruction of stage.instructions) {
        if (instruction.keyword === 'ADD') throw new Error(`line ${instruction.line}: ADD instead of COPY`);
        if (instruction.keyword !== 'COPY') continue;
        copies++;
        const { from, sources } = copyOf(instruction);
        if (from !== undefined) {
          expect(names, `line ${instruction.line}`).toContain(from);
          continue;
        }
        for (const source of sources) {
          expect(existsSync(join(REPO_ROOT, source)), `line ${instruction.line}: ${source}`).toBe(true);
          expect(inContext(dockerignore, source), `line ${instruction.line}: ${source}`).toBe(true);
        }
      }
    }
    expect(copies).toBeGreaterThanOrEqual(5);
  });

  it('gives the runtime the compiled code and the production dependencies, never the sources', () => {
    const runtime = stages.at(-1)!;
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map(copyOf);
    expect(copies).toEqual([
      { from: undefined, sources: ['package.json'], dest: './' },
      { from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' },
      { from: 'build', sources: ['/app/dist'], dest: './dist' },
    ]);
  });

  it('runs the file the build writes: src/main.ts compiled to dist/main.js', async () => {
    const build = JSON.parse(await readFile(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8'));
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(join(REPO_ROOT, 'src/main.ts'))).toBe(true);
    expect(stages.at(-1)!.instructions.find((i) => i.keyword === 'CMD')?.args).toBe(
      '["node", "dist/main.js"]',
    );
  });

  it('puts the otp-relay command on the PATH: the compiled CLI, which Node runs by its first line', async () => {
    const runtime = stages.at(-1)!.instructions;
    const runs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs).toContain(
      'ln -s /app/dist/cli/main.js /usr/local/bin/otp-relay && chmod 755 /app/dist/cli/main.js',
    );
    // tsc keeps a first-line shebang: the link runs the file itself.
    const source = await readFile(join(REPO_ROOT, 'src/cli/main.ts'), 'utf8');
    expect(source.split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs as the unprivileged node user, after everything is copied as root', () => {
    const runtime = stages.at(-1)!.instructions;
    const users = runtime.filter((i) => i.keyword === 'USER');
    expect(users.map((u) => u.args)).toEqual(['node']);
    const userAt = runtime.indexOf(users[0]!);
    expect(runtime.slice(userAt).some((i) => i.keyword === 'COPY' || i.keyword === 'RUN')).toBe(false);
  });

  it('checks /healthz, with no tool the slim image lacks, and starts node directly', () => {
    const runtime = stages.at(-1)!.instructions;
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toMatch(/--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+/);
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*\/healthz.*"\]$/);
    expect(healthcheck).not.toMatch(/curl|wget/);
    expect(runtime.find((i) => i.keyword === 'EXPOSE')?.args).toBe('8080');
  });
});
