import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { REPO_ROOT, RENDER_ACL, renderAcl, run, untilOutput } from './redis-server.js';

// Three redis-server (a master, two replicas) and three sentinels, on free ports of 127.0.0.1,
// with deploy/redis's ACL users on every node (users.acl.template + ha-users.acl.template). Every
// process is the test's own child, stopped by stop().

const HA_ACL_TEMPLATE = join(REPO_ROOT, 'deploy/redis/ha-users.acl.template');

/** Whether `redis-sentinel` (Debian's package) or `redis-server --sentinel` can run here. */
export function sentinelBinary(): { file: string; args: string[] } | undefined {
  if (spawnSync('redis-sentinel', ['--version'], { stdio: 'ignore' }).status === 0) {
    return { file: 'redis-sentinel', args: [] };
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) {
    return { file: 'redis-server', args: ['--sentinel'] };
  }
  return undefined;
}

/** One process of the cluster. */
export interface ClusterProcess {
  readonly port: number;
  readonly running: boolean;
  /** Sends `signal` (SIGKILL: the host dies) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the process keeps its sockets and answers nothing (a hung host). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

/** Passwords of the four ACL users, random for each cluster. */
export interface ClusterPasswords {
  readonly relay: string;
  readonly bot: string;
  readonly replica: string;
  readonly sentinel: string;
}

/** Options of {@link startSentinelCluster}. */
export interface SentinelClusterOptions {
  /** `sentinel down-after-milliseconds`. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. */
  failoverTimeoutMs?: number;
  /** The master group's name. */
  masterName?: string;
  /**
   * Sentinels with ACL users of their own, as docker-compose.yml's `ha` profile has them: `default`
   * off, `admin` (the sentinels among themselves), `client` (the relay and the bots: read-only
   * SENTINEL subcommands).
   */
  sentinelAuth?: boolean;
  /** `min-replicas-to-write` on every node (with `min-replicas-max-lag 10`). */
  minReplicasToWrite?: number;
  /**
   * TLS only, on every node and sentinel (`port 0`, `tls-port`, `tls-replication yes`), with a CA of
   * the cluster's own; certificates for 127.0.0.1 and localhost.
   */
  tls?: boolean;
}

/** A cluster's certificates: its CA's, PEM. */
export interface ClusterTls {
  readonly ca: string;
  readonly caFile: string;
}

/** The sentinels' own passwords (with {@link SentinelClusterOptions.sentinelAuth}). */
export interface SentinelPasswords {
  readonly admin: string;
  readonly client: string;
}

/** A running cluster. */
export interface SentinelCluster {
  readonly masterName: string;
  readonly passwords: ClusterPasswords;
  /** With `sentinelAuth`; `undefined` otherwise. */
  readonly sentinelPasswords: SentinelPasswords | undefined;
  /** With `tls`; `undefined` otherwise. */
  readonly tls: ClusterTls | undefined;
  readonly nodes: readonly ClusterProcess[];
  readonly sentinels: readonly ClusterProcess[];
  /** `REDIS_SENTINELS`: `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`. */
  readonly sentinelsText: string;
  /** A URL with `user`'s credentials; its host and port are those of no node (Sentinel finds them). */
  url(user: 'relay' | 'bot'): string;
  /** `redis://user:password@127.0.0.1:<port>` of one node. */
  nodeUrl(user: 'relay' | 'bot', port: number): string;
  /** The master's port as the first sentinel that answers names it. */
  masterPort(): Promise<number>;
  /** Waits until the sentinels name a master other than `oldPort`, up to `timeoutMs`. */
  waitForNewMaster(oldPort: number, timeoutMs: number): Promise<number>;
  /** SIGKILLs the current master; resolves with its port and the time of the kill. */
  killMaster(): Promise<{ port: number; killedAt: number }>;
  /** Stops every process and removes the files. Safe to call more than once. */
  stop(): Promise<void>;
}

/** Starts the cluster and waits until every sentinel sees the master, both replicas and the others. */
export async function startSentinelCluster(options: SentinelClusterOptions = {}): Promise<SentinelCluster> {
  const binary = sentinelBinary();
  if (binary === undefined) throw new Error('neither redis-sentinel nor redis-server is on PATH');
  const masterName = options.masterName ?? 'otp-relay';
  const passwords: ClusterPasswords = {
    relay: randomBytes(24).toString('hex'),
    bot: randomBytes(24).toString('hex'),
    replica: randomBytes(24).toString('hex'),
    sentinel: randomBytes(24).toString('hex'),
  };
  const sentinelPasswords: SentinelPasswords | undefined = options.sentinelAuth
    ? { admin: randomBytes(24).toString('hex'), client: randomBytes(24).toString('hex') }
    : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'otp-relay-sentinel-'));
  const tls = options.tls === true ? await makeCertificates(dir) : undefined;
  const ask = (port: number, args: string[]) => askSentinel(port, args, sentinelPasswords, tls?.ca);
  const processes: Child[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((child) => child.kill('SIGTERM')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const aclFile = await renderHaAcl(dir, passwords);
    const ports = await freePorts(6);
    const nodePorts = ports.slice(0, 3);
    const sentinelPorts = ports.slice(3);
    const masterPort = nodePorts[0]!;

    const nodes: Child[] = [];
    for (const [index, port] of nodePorts.entries()) {
      const lines = [
        ...listenOn(port, tls),
        'bind 127.0.0.1',
        'save ""',
        'appendonly no',
        `dir ${dir}`,
        // One file each: a replica must not load another node's data at its start.
        `dbfilename dump-${port}.rdb`,
        `aclfile ${aclFile}`,
        // Every node can become a replica after a failover: each knows how to log in to a master.
        'masteruser replica',
        `masterauth ${passwords.replica}`,
        ...(index === 0 ? [] : [`replicaof 127.0.0.1 ${masterPort}`]),
        ...(options.minReplicasToWrite === undefined
          ? []
          : [`min-replicas-to-write ${options.minReplicasToWrite}`, 'min-replicas-max-lag 10']),
      ];
      const conf = join(dir, `redis-${port}.conf`);
      await writeFile(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
      const ready =
        index === 0
          ? ['Ready to accept connections']
          : ['MASTER <-> REPLICA sync: Finished with success', 'Master accepted a Partial Resynchronization'];
      const child = await startChild('redis-server', [conf], port, ready);
      processes.push(child);
      nodes.push(child);
    }

    const sentinels: Child[] = [];
    for (const port of sentinelPorts) {
      const lines = [
        ...listenOn(port, tls),
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 3000}`,
        `sentinel parallel-syncs ${masterName} 1`,
        `sentinel auth-user ${masterName} sentinel`,
        `sentinel auth-pass ${masterName} ${passwords.sentinel}`,
        ...(sentinelPasswords === undefined ? [] : sentinelAclLines(sentinelPasswords)),
      ];
      const conf = join(dir, `sentinel-${port}.conf`);
      await writeFile(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
      const child = await startChild(binary.file, [conf, ...binary.args], port, ['+monitor master']);
      processes.push(child);
      sentinels.push(child);
    }

    const scheme = tls === undefined ? 'redis' : 'rediss';
    const cluster: SentinelCluster = {
      masterName,
      passwords,
      nodes,
      sentinels,
      sentinelsText: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      url: (user) => `${scheme}://${user}:${passwords[user]}@127.0.0.1:1`,
      nodeUrl: (user, port) => `${scheme}://${user}:${passwords[user]}@127.0.0.1:${port}`,
      sentinelPasswords,
      tls: tls === undefined ? undefined : { ca: tls.ca, caFile: tls.caFile },
      masterPort: () => askMaster(sentinels, masterName, ask),
      async waitForNewMaster(oldPort, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const port = await askMaster(sentinels, masterName, ask).catch(() => oldPort);
          if (port !== oldPort) return port;
          if (Date.now() > deadline) throw new Error(`no new master within ${timeoutMs} ms`);
          await sleep(50);
        }
      },
      async killMaster() {
        const port = await askMaster(sentinels, masterName, ask);
        const master = nodes.find((node) => node.port === port);
        if (master === undefined) throw new Error(`the master ${port} is not one of the cluster's nodes`);
        const killedAt = Date.now();
        await master.kill('SIGKILL');
        return { port, killedAt };
      },
      stop,
    };
    await waitUntilDiscovered(sentinels, masterName, 20_000, ask);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

interface Child extends ClusterProcess {
  readonly child: ChildProcess;
}

/** Renders users.acl.template and ha-users.acl.template into one file of `dir`. */
async function renderHaAcl(dir: string, passwords: ClusterPasswords): Promise<string> {
  const base = await renderAcl({ relay: passwords.relay, bot: passwords.bot });
  const haPath = join(dir, 'ha-users.acl');
  try {
    const result = await run('sh', [RENDER_ACL, HA_ACL_TEMPLATE, haPath], {
      env: {
        PATH: process.env.PATH,
        REPLICA_REDIS_PASSWORD: passwords.replica,
        SENTINEL_REDIS_PASSWORD: passwords.sentinel,
      },
    });
    if (result.code !== 0) throw new Error(`render-acl.sh failed (${result.code}): ${result.stderr}`);
    const path = join(dir, 'users.acl');
    const separator = base.text.endsWith('\n') ? '' : '\n';
    await writeFile(path, base.text + separator + (await readFile(haPath, 'utf8')), { mode: 0o600 });
    return path;
  } finally {
    await base.remove();
  }
}

async function startChild(file: string, args: string[], port: number, readyLines: string[]): Promise<Child> {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilOutput(child, readyLines, 20_000, `${file} on ${port}`);
  return {
    child,
    port,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    pause() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGSTOP');
    },
    resume() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A stopped process acts on nothing but SIGKILL until it is continued.
      if (signal !== 'SIGKILL') child.kill('SIGCONT');
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * The ACL users of a sentinel, as docker-compose.yml's sentinels have them: the sentinels log in to
 * one another as `admin`; `client` (the relay, the bots) can only ask where the master is.
 */
export function sentinelAclLines(passwords: SentinelPasswords): string[] {
  return [
    'user default off',
    `user admin on >${passwords.admin} +@all`,
    `user client on >${passwords.client} -@all ${SENTINEL_CLIENT_COMMANDS.map((c) => `+${c}`).join(' ')}`,
    'sentinel sentinel-user admin',
    `sentinel sentinel-pass ${passwords.admin}`,
  ];
}

/** What the relay, otp-relay/client and redis-py's Sentinel ask a sentinel. */
export const SENTINEL_CLIENT_COMMANDS = [
  'sentinel|master',
  'sentinel|masters',
  'sentinel|get-master-addr-by-name',
  'sentinel|sentinels',
  'sentinel|replicas',
  'sentinel|slaves',
  'ping',
  'client|setname',
];

interface Certificates extends ClusterTls {
  readonly lines: string[];
}

/** A CA and a certificate for 127.0.0.1 and localhost, made with openssl in `dir`. */
async function makeCertificates(dir: string): Promise<Certificates> {
  const file = (name: string) => join(dir, name);
  const steps: string[][] = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt')],
    ['-days', '2', '-subj', '/CN=otp-relay-test-ca'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr')],
    ['-subj', '/CN=localhost'],
    ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key')],
    ['-CAcreateserial', '-out', file('server.crt'), '-days', '2', '-extfile', file('san.cnf')],
  ];
  await writeFile(file('san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (let index = 0; index < steps.length; index += 2) {
    const result = await run('openssl', [...steps[index]!, ...steps[index + 1]!]);
    if (result.code !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  }
  return {
    ca: await readFile(file('ca.crt'), 'utf8'),
    caFile: file('ca.crt'),
    lines: [
      `tls-cert-file ${file('server.crt')}`,
      `tls-key-file ${file('server.key')}`,
      `tls-ca-cert-file ${file('ca.crt')}`,
      'tls-auth-clients no',
      'tls-replication yes',
    ],
  };
}

/** `port` in plain TCP, or TLS only. */
function listenOn(port: number, tls: Certificates | undefined): string[] {
  return tls === undefined ? [`port ${port}`] : ['port 0', `tls-port ${port}`, ...tls.lines];
}

/** Sends one command to a sentinel (as `admin` when the sentinels have users) and closes. */
async function askSentinel(
  port: number,
  args: string[],
  passwords?: SentinelPasswords,
  ca?: string,
): Promise<unknown> {
  const client = createClient({
    socket: {
      host: '127.0.0.1',
      port,
      reconnectStrategy: false,
      connectTimeout: 1_000,
      ...(ca === undefined ? {} : { tls: true as const, ca }),
    },
    ...(passwords === undefined ? {} : { username: 'admin', password: passwords.admin }),
  });
  client.on('error', () => undefined);
  // A paused sentinel accepts the connection and answers nothing: the whole ask has a deadline.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sentinel ${port} did not answer`)), 1_500);
  });
  try {
    await Promise.race([client.connect(), deadline]);
    return await Promise.race([client.sendCommand(args), deadline]);
  } finally {
    clearTimeout(timer);
    if (client.isOpen) client.destroy();
  }
}

type Ask = (port: number, args: string[]) => Promise<unknown>;

async function askMaster(sentinels: readonly ClusterProcess[], name: string, ask: Ask): Promise<number> {
  for (const sentinel of sentinels) {
    if (!sentinel.running) continue;
    try {
      const reply = await ask(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
      if (Array.isArray(reply) && reply.length === 2) return Number(reply[1]);
    } catch {
      // The next sentinel.
    }
  }
  throw new Error('no sentinel named a master');
}

/** Until every sentinel knows both replicas and the two other sentinels (hello messages, ~2 s). */
async function waitUntilDiscovered(
  sentinels: readonly ClusterProcess[],
  name: string,
  timeoutMs: number,
  ask: Ask,
) {
  const deadline = Date.now() + timeoutMs;
  for (const sentinel of sentinels) {
    for (;;) {
      const reply = await ask(sentinel.port, ['SENTINEL', 'MASTER', name]).catch(() => []);
      const fields = new Map<string, string>();
      if (Array.isArray(reply)) {
        for (let index = 0; index + 1 < reply.length; index += 2)
          fields.set(String(reply[index]), String(reply[index + 1]));
      }
      if (fields.get('num-slaves') === '2' && fields.get('num-other-sentinels') === '2') break;
      if (Date.now() > deadline)
        throw new Error(`sentinel ${sentinel.port} did not discover the cluster in time`);
      await sleep(100);
    }
  }
}

async function freePorts(count: number): Promise<number[]> {
  const { createServer } = await import('node:net');
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<{ server: typeof server; port: number }>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0 });
        });
      });
    }),
  );
  await Promise.all(servers.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  return servers.map(({ port }) => port);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
