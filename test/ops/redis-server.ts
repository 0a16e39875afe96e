import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ACL_TEMPLATE = join(REPO_ROOT, 'deploy/redis/users.acl.template');
export const RENDER_ACL = join(REPO_ROOT, 'deploy/redis/render-acl.sh');

/** A redis-server process of a test's own, on a free port of 127.0.0.1. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server and waits for the process to exit. Safe to call more than once. */
  stop(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets (the kernel still accepts bytes) and answers nothing. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

/**
 * Starts `redis-server` on a free port (or `port`: a restart on the same address), with no
 * persistence, and waits until it accepts commands.
 */
export async function startRedisServer(
  options: { aclFile?: string; port?: number } = {},
): Promise<RedisServer> {
  if (options.port !== undefined) return startOn(options.port, options.aclFile);
  let lastError: unknown;
  // A free port can be taken between the check and the server's bind: try again on another one.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    try {
      return await startOn(port, options.aclFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('redis-server is not on PATH: test/ops starts Redis servers of its own', {
          cause: error,
        });
      }
      lastError = error;
    }
  }
  throw lastError;
}

async function startOn(port: number, aclFile: string | undefined): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--logfile', '', '--daemonize', 'no', '--loglevel', 'notice');
  if (aclFile !== undefined) args.push('--aclfile', aclFile);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilOutput(child, ['Ready to accept connections'], 10_000, 'redis-server');
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      // A stopped process would not act on SIGTERM.
      if (running()) child.kill('SIGCONT');
      return stopProcess(child, exited);
    },
    pause: () => void (running() && child.kill('SIGSTOP')),
    resume: () => void (running() && child.kill('SIGCONT')),
  };
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The result of a child process run to its end. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command and resolves with its exit code and output, whatever the code. */
export function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...options, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error === null) resolve({ code: 0, stdout, stderr });
      else if (typeof error.code === 'number') resolve({ code: error.code, stdout, stderr });
      // Not started (ENOENT), or killed by the timeout: there is no exit code to report.
      else reject(new Error(`${file} did not run to its end: ${error.message}`));
    });
  });
}

/** Passwords of the kind render-acl.sh accepts: random, URL-safe. */
export function testPasswords(): { relay: string; bot: string } {
  return { relay: randomBytes(24).toString('hex'), bot: randomBytes(24).toString('hex') };
}

/** A rendered ACL file in a directory of its own, which {@link RenderedAcl.remove} deletes. */
export interface RenderedAcl {
  readonly path: string;
  readonly text: string;
  remove(): Promise<void>;
}

/** Renders deploy/redis/users.acl.template with deploy/redis/render-acl.sh, as the container does. */
export async function renderAcl(passwords: { relay: string; bot: string }): Promise<RenderedAcl> {
  const dir = await mkdtemp(join(tmpdir(), 'otp-relay-acl-'));
  const path = join(dir, 'users.acl');
  const result = await run('sh', [RENDER_ACL, ACL_TEMPLATE, path], {
    env: { PATH: process.env.PATH, RELAY_REDIS_PASSWORD: passwords.relay, BOT_REDIS_PASSWORD: passwords.bot },
  });
  if (result.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`render-acl.sh failed (${result.code}): ${result.stderr}`);
  }
  return {
    path,
    text: await readFile(path, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `redis://user:password@127.0.0.1:port`. */
export function userUrl(server: RedisServer, user: string, password: string): string {
  return `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${server.port}`;
}

/**
 * Every command a server runs, as MONITOR reports it, through a raw connection (node-redis would
 * add commands of its own to the feed).
 */
export class CommandRecorder {
  readonly #socket: Socket;
  readonly #lines: string[] = [];
  #buffer = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      let end: number;
      while ((end = this.#buffer.indexOf('\r\n')) >= 0) {
        this.#lines.push(this.#buffer.slice(0, end));
        this.#buffer = this.#buffer.slice(end + 2);
      }
    });
  }

  /** Connects to a server without ACL users and starts MONITOR. */
  public static async start(server: RedisServer): Promise<CommandRecorder> {
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(server.port, '127.0.0.1', () => resolve());
    });
    const recorder = new CommandRecorder(socket);
    socket.write('MONITOR\r\n');
    await recorder.#waitFor((line) => line === '+OK');
    return recorder;
  }

  /** Waits until the feed shows `line`, so that everything sent before it has been recorded. */
  public async waitForLine(predicate: (line: string) => boolean): Promise<void> {
    await this.#waitFor(predicate);
  }

  /** Each recorded command: the client (`127.0.0.1:port`, or `lua` inside a script) and its words. */
  public commands(): { client: string; words: string[] }[] {
    const result: { client: string; words: string[] }[] = [];
    for (const line of this.#lines) {
      const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (match === null) continue;
      const words = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((word) => word[1]!);
      result.push({ client: match[1]!, words });
    }
    return result;
  }

  public close(): void {
    this.#socket.destroy();
  }

  async #waitFor(predicate: (line: string) => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!this.#lines.some(predicate)) {
      if (Date.now() > deadline) throw new Error('MONITOR did not show the expected line in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * Resolves once `child` printed one of `readyLines` (on stdout or stderr); rejects with the end of
 * its output when it exits first or `timeoutMs` passes (then it is killed).
 */
export async function untilOutput(
  child: ChildProcess,
  readyLines: readonly string[],
  timeoutMs: number,
  what: string,
): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (readyLines.some((line) => output.includes(line))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${String(code)}) before it was ready:\n${output.slice(-2000)}`));
    });
  });
  // Keep draining the output so the process never blocks on a full pipe.
  child.stdout?.removeAllListeners('data').resume();
  child.stderr?.removeAllListeners('data').resume();
}
