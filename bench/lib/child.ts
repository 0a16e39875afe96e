import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The repository's root (this file is `.bench-build/bench/lib/child.js` once compiled). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The relay as `npm start` runs it (BENCH_RELAY_MAIN: another build of it, to compare a change). */
export const RELAY_MAIN =
  process.env.BENCH_RELAY_MAIN ?? fileURLToPath(new URL('dist/main.js', `file://${REPO_ROOT}`));
/** Extra node options for the relay process of benchmarks 1 and 5 (BENCH_RELAY_NODE_ARGS, e.g. `--cpu-prof`). */
export const RELAY_NODE_ARGS = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** A compiled bench script, by its name under bench/ (`relay-host` → `.bench-build/bench/relay-host.js`). */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`${name}.js`, new URL('../', import.meta.url)));
}

/** Every child still running, so that an interrupted bench does not leave processes behind. */
const running = new Set<ChildProcess>();

/** Kills (SIGKILL) every child this bench started and that is still running. */
export function killAllChildren(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** One child process, its output lines and (for JSON lines) their parsed form. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every line printed, stdout and stderr, in order (the last ones are kept). */
  readonly lines: readonly string[];
  /** Log lines at error level or above (pino level >= 50), the first 50. */
  readonly errors: readonly string[];
  /** Resolves with the first JSON line (past or future) that `match` accepts, and when it was read. */
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<{ line: Record<string, unknown>; at: number }>;
  /** Resolves with the next IPC message that `match` accepts (children started with `ipc`). */
  waitForMessage<T>(match: (message: T) => boolean, timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  /** SIGTERM (then SIGKILL after `graceMs`), resolving with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  /** Node options before the script (e.g. `--expose-gc`). */
  nodeArgs?: readonly string[];
  /** The exact environment (nothing is inherited). */
  env: Record<string, string>;
  /** Open an IPC channel (for `send` / `waitForMessage`). */
  ipc?: boolean;
  /** Keep at most this many lines (default 2000). */
  keepLines?: number;
}

/**
 * Spawns `node <script>` from a scratch folder (a developer's .env in the repo must not leak in),
 * as the e2e harness does, and reads its output line by line.
 */
export function spawnNode(script: string, options: SpawnOptions): Child {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env: options.env,
    cwd: tmpdir(),
    stdio: options.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = once(child, 'exit').then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  // A spawn failure is reported through `exited` and the waiters; never unhandled.
  child.on('error', () => undefined);
  const keep = options.keepLines ?? 2000;
  const lines: string[] = [];
  const errors: string[] = [];
  const lineWaiters = new Set<(line: Record<string, unknown>, at: number) => boolean>();
  const parsedHistory: { line: Record<string, unknown>; at: number }[] = [];

  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const at = performance.now();
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(text);
        if (lines.length > keep) lines.shift();
        if (!text.startsWith('{')) continue;
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (typeof parsed.level === 'number' && parsed.level >= 50 && errors.length < 50) errors.push(text);
        if (parsedHistory.length < keep) parsedHistory.push({ line: parsed, at });
        for (const waiter of lineWaiters) if (waiter(parsed, at)) lineWaiters.delete(waiter);
      }
    });
  }

  const describe = (): string => `last lines of pid ${child.pid}:\n${lines.slice(-12).join('\n')}`;

  const waitForLine: Child['waitForLine'] = (match, timeoutMs = 20_000) => {
    const past = parsedHistory.find((entry) => match(entry.line));
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        lineWaiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms; ${describe()}`));
      }, timeoutMs);
      const waiter = (line: Record<string, unknown>, at: number): boolean => {
        if (!match(line)) return false;
        clearTimeout(timer);
        resolve({ line, at });
        return true;
      };
      lineWaiters.add(waiter);
      void exited.then(() => {
        if (!lineWaiters.has(waiter)) return;
        lineWaiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`process exited before the log line; ${describe()}`));
      });
    });
  };

  const waitForMessage = <T>(match: (message: T) => boolean, timeoutMs = 20_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (!match(message as T)) return;
        cleanup();
        resolve(message as T);
      };
      const onExit = (): void => {
        cleanup();
        reject(new Error(`process exited before the message; ${describe()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching message within ${timeoutMs} ms; ${describe()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });

  return {
    process: child,
    pid: child.pid ?? -1,
    lines,
    errors,
    waitForLine,
    waitForMessage,
    send: (message) => {
      child.send(message as never);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    exited,
  };
}

/** Resolves after `delayMs`. */
export function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}
