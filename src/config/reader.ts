import { Cron } from 'croner';

import { readCodeDigits, type CodeDigits } from '../domain/code-digits.js';
import { DURATION_FORMAT_HINT, parseDuration } from '../shared/duration.js';
import { Secret } from '../shared/secret.js';
import { isLoopbackHost, urlForMessage } from '../shared/url-safety.js';
import type { ConfigProblem } from './errors.js';
import { CONFIG_VARIABLES, FILE_SUFFIX, type ConfigVariableName } from './variables.js';

/** Longest account name, key prefix part or sentinel master name. */
export const MAX_NAME_LENGTH = 64;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Redis-key-safe name: also free of glob characters, so `SCAN MATCH prefix:*` stays exact. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
export const PREFIX_PATTERN = /^[A-Za-z0-9._-]+(?::[A-Za-z0-9._-]+)*$/;
/** Discord snowflakes: 17 to 20 digits, never a leading zero, at most 2^64 - 1. */
const SNOWFLAKE_PATTERN = /^[1-9][0-9]{16,19}$/;
const MAX_SNOWFLAKE = 2n ** 64n - 1n;
const INTEGER_PATTERN = /^[0-9]+$/;
/** What `listen()` takes as a host: a name, an IPv4 address or a bare IPv6 address. */
const HOST_PATTERN = /^[A-Za-z0-9.:-]+$/;
/**
 * What undici refuses in a header value (controls, anything beyond Latin-1), plus tab: refused here,
 * at start, rather than at the first login, where the error would come from deep inside a request.
 */
// eslint-disable-next-line no-control-regex
const NOT_HEADER_SAFE = /[\u0000-\u001f\u007f\u0100-\uffff]/;

const DEFAULTS = new Map<string, string | undefined>(CONFIG_VARIABLES.map((v) => [v.name, v.default]));
const FORMATS = new Map<string, string>(CONFIG_VARIABLES.map((v) => [v.name, v.format]));

/**
 * The name a problem gives a variable: the one the user sets, or would set. One account's reader
 * reads `ETNA_PASSWORD` from `ACCOUNT_PAPER_ETNA_PASSWORD` and names that (see account-names.ts);
 * otherwise a variable goes by its own name.
 */
export type ShownName = (variable: ConfigVariableName) => string;

/**
 * Reads and checks one variable at a time, collecting problems. Each method returns `undefined`
 * after reporting a problem, and a value otherwise.
 */
export class EnvReader {
  public readonly problems: ConfigProblem[];
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #fromFile: ReadonlySet<string>;
  readonly #unreadable: ReadonlySet<string>;
  readonly #shown: ShownName;

  /**
   * @param env the variables, with each secret's `*_FILE` already read in (see {@link readSecretFiles})
   * @param files which secrets came from their file, which files could not be read, and what was
   *   wrong with them (reported first)
   * @param shown the name each problem gives its variable (by default its own)
   */
  public constructor(
    env: Readonly<Record<string, string | undefined>>,
    files: {
      readonly fromFile: ReadonlySet<string>;
      readonly unreadable: ReadonlySet<string>;
      readonly problems: readonly ConfigProblem[];
    } = { fromFile: new Set(), unreadable: new Set(), problems: [] },
    shown: ShownName = (variable) => variable,
  ) {
    this.#env = env;
    this.#fromFile = files.fromFile;
    this.#unreadable = files.unreadable;
    this.#shown = shown;
    this.problems = [...files.problems];
  }

  /** The name problems of `variable` give it. */
  public shown(variable: ConfigVariableName): string {
    return this.#shown(variable);
  }

  /** Reports `message` as it is, under the name `variable` is shown by. */
  public report(variable: ConfigVariableName, message: string): undefined {
    const name = this.#shown(variable);
    // Says where the value came from, never what it is.
    const source = this.#fromFile.has(variable) ? ` (value read from ${name}${FILE_SUFFIX})` : '';
    this.problems.push({ variable: name, message: `${message}${source}` });
    return undefined;
  }

  /** The trimmed value, else the default; empty counts as unset. Reports a missing required value. */
  public text(name: ConfigVariableName): string | undefined {
    const value = this.#env[name]?.trim();
    if (value) return value;
    const fallback = DEFAULTS.get(name);
    if (fallback === undefined && isRequired(name)) return this.missing(name);
    return fallback;
  }

  /**
   * An https:// URL, or an http:// one whose host is this machine. Messages show the URL without its
   * user, password, query and fragment ({@link urlForMessage}): any of them may hold a secret.
   */
  public httpUrl(name: ConfigVariableName, slash: 'directory' | 'no-trailing-slash'): URL | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const url = URL.canParse(text) ? new URL(text) : undefined;
    const shown = urlForMessage(text);
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      return this.bad(name, `${shown} is not an https:// URL`);
    }
    // Credentials would travel with every request and print with the URL; a query or a fragment is
    // silently dropped when `token` is resolved against the base.
    if (url.username || url.password) return this.bad(name, `${shown} carries a user or password`);
    if (url.search || url.hash) return this.bad(name, `${shown} has a query or fragment (not shown)`);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      return this.bad(
        name,
        `${shown} is plain http:// to another machine, where the password, the codes or the bot token would travel in clear text`,
      );
    }
    if (slash === 'directory' && !url.pathname.endsWith('/')) url.pathname += '/';
    return url;
  }

  /** `CODE_DIGITS`: one number or a range (see {@link readCodeDigits}). */
  public codeDigits(name: ConfigVariableName): CodeDigits | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const digits = readCodeDigits(text);
    if (digits === undefined) return this.bad(name, `${quote(text)} is not a number of digits or a range`);
    return digits;
  }

  /**
   * A required secret sent in an HTTP header, trimmed: HTTP drops whitespace around a header value
   * anyway, so a password's outer spaces could never reach the broker.
   */
  public headerSecret(name: ConfigVariableName): Secret | undefined {
    const value = this.#env[name]?.trim();
    if (!value) return this.missing(name);
    if (NOT_HEADER_SAFE.test(value)) {
      return this.bad(
        name,
        'contains a line break, a control character or a character beyond Latin-1, which an HTTP header cannot carry (value not shown)',
      );
    }
    return new Secret(value);
  }

  /** An optional secret, trimmed; unset (or empty) gives `undefined`. */
  public optionalSecret(name: ConfigVariableName): Secret | undefined {
    const value = this.#env[name]?.trim();
    if (!value) return undefined;
    if (/[\r\n]/.test(value)) return this.bad(name, 'contains a line break (value not shown)');
    return new Secret(value);
  }

  /** `true` or `false` (any case); unset or empty gives the default. */
  public flag(name: ConfigVariableName): boolean | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const value = text.toLowerCase();
    if (value !== 'true' && value !== 'false') return this.bad(name, `${quote(text)} is not true or false`);
    return value === 'true';
  }

  public optionalHeaderSecret(name: ConfigVariableName): Secret | undefined {
    if (!this.#env[name]?.trim()) return undefined;
    return this.headerSecret(name);
  }

  public headerText(name: ConfigVariableName): string | undefined {
    const value = this.text(name);
    if (value !== undefined && NOT_HEADER_SAFE.test(value)) {
      return this.bad(
        name,
        `${quote(value)} contains a control character or a character beyond Latin-1, which an HTTP header cannot carry`,
      );
    }
    return value;
  }

  public discordToken(): Secret | undefined {
    const token = this.headerSecret('DISCORD_TOKEN');
    // discord.js adds the prefix itself; a doubled one fails every request with 401.
    if (token && /^bot\s/i.test(token.reveal())) {
      return this.bad('DISCORD_TOKEN', 'starts with "Bot " (value not shown)');
    }
    return token;
  }

  public operatorIds(): readonly string[] | undefined {
    const text = this.text('DISCORD_OPERATOR_IDS');
    if (text === undefined) return undefined;
    // Empty entries (a trailing comma, ", ,") are ignored rather than refused: they carry no ID.
    const entries = text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const invalid = entries.filter((entry) => !isSnowflake(entry));
    if (invalid.length > 0) {
      const list = invalid.map(quote).join(', ');
      return this.bad(
        'DISCORD_OPERATOR_IDS',
        `${list} ${invalid.length === 1 ? 'is not a Discord user ID' : 'are not Discord user IDs'}`,
      );
    }
    if (entries.length === 0) return this.bad('DISCORD_OPERATOR_IDS', 'lists no ID');
    return [...new Set(entries)];
  }

  public redisUrl(): Secret | undefined {
    const text = this.text('REDIS_URL');
    if (text === undefined) return undefined;
    // The URL may hold a password: no part of the value is ever quoted back.
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (url === undefined) {
      return this.bad(
        'REDIS_URL',
        'is not a URL (value not shown; percent-encode special characters in the password)',
      );
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      return this.bad('REDIS_URL', 'does not start with redis:// or rediss:// (value not shown)');
    }
    if (url.hostname === '') return this.bad('REDIS_URL', 'has no host (value not shown)');
    if (!/^\/?(?:[0-9]+)?$/.test(url.pathname)) {
      return this.bad('REDIS_URL', 'has a path that is not a database number (value not shown)');
    }
    return new Secret(text);
  }

  public name(name: ConfigVariableName, pattern: RegExp): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (value.length > MAX_NAME_LENGTH || !pattern.test(value)) {
      return this.bad(name, `${quote(value)} cannot be used in a Redis key`);
    }
    return value;
  }

  public duration(name: ConfigVariableName, minMs: number, maxMs: number): number | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) {
      return this.bad(name, `${quote(text)} is not a duration: ${DURATION_FORMAT_HINT}`);
    }
    if (ms < minMs || ms > maxMs) return this.bad(name, `${quote(text)} is out of range`);
    return ms;
  }

  public timeZone(name: ConfigVariableName): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    // An IANA name only. Node 24's Intl also takes offsets like `+05:00`, which have no daylight
    // saving: a schedule in one would drift an hour from the operators' clocks twice a year.
    if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(text)) {
      return this.bad(name, `${quote(text)} is not an IANA time zone name`);
    }
    const canonical = canonicalTimeZone(text);
    return canonical ?? this.bad(name, `${quote(text)} is not a time zone`);
  }

  public cron(name: ConfigVariableName, timeZone: string): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    let job: Cron | undefined;
    try {
      // Paused: this only checks the pattern; the relay's scheduler runs its own job.
      job = new Cron(text, { paused: true, timezone: timeZone });
      if (job.nextRun() === null) return this.bad(name, `${quote(text)} never matches a future time`);
      return text;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return this.bad(name, `${quote(text)} is not a valid cron expression (${reason})`);
    } finally {
      job?.stop();
    }
  }

  /** `true` or `false`, in any case. */
  public boolean(name: ConfigVariableName): boolean | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const value = text.toLowerCase();
    if (value !== 'true' && value !== 'false') return this.bad(name, `${quote(text)} is not accepted`);
    return value === 'true';
  }

  /** Whether the variable is set at all (not empty), whatever its value: nothing is checked. */
  public isSet(name: ConfigVariableName): boolean {
    return Boolean(this.#env[name]?.trim());
  }

  public integer(name: ConfigVariableName, min: number, max: number): number | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const value = INTEGER_PATTERN.test(text) ? Number(text) : undefined;
    if (value === undefined || value < min || value > max)
      return this.bad(name, `${quote(text)} is not accepted`);
    return value;
  }

  public host(name: ConfigVariableName): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    if (!HOST_PATTERN.test(text)) return this.bad(name, `${quote(text)} is not a host name or IP address`);
    return text;
  }

  public logLevel(name: ConfigVariableName): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const level = text.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      return this.bad(name, `${quote(text)} is not a log level`);
    }
    return level;
  }

  /** Reports `what` as it is: for a value that is fine alone but not with another variable's. */
  public conflict(name: ConfigVariableName, what: string): undefined {
    return this.report(name, what);
  }

  /** Reports what is wrong followed by what the variable accepts. */
  public bad(name: ConfigVariableName, what: string): undefined {
    return this.report(name, `${what}; expected ${FORMATS.get(name) ?? 'a valid value'}`);
  }

  private missing(name: ConfigVariableName): undefined {
    // Its file could not be read: already reported, under the file variable's name.
    if (this.#unreadable.has(name)) return undefined;
    // One account's own variable, unset, and no plain one for it to fall back to: either will do.
    const fallback =
      this.#shown(name) !== name && !this.#fromFile.has(name)
        ? ` (or ${name}, which every account without its own takes)`
        : '';
    return this.report(name, `is required${fallback}; expected ${FORMATS.get(name) ?? 'a value'}`);
  }
}

function isRequired(name: ConfigVariableName): boolean {
  return CONFIG_VARIABLES.some((v) => v.name === name && v.required);
}

function isSnowflake(text: string): boolean {
  return SNOWFLAKE_PATTERN.test(text) && BigInt(text) <= MAX_SNOWFLAKE;
}

/** Quotes a non-secret value for a message: escaped, and cut short when long. */
export function quote(value: string): string {
  const short = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(short);
}

/** Canonical names of time zones already read: each account reads one, most often the same. */
const timeZones = new Map<string, string | undefined>();

/** `america/new_york` → `America/New_York`; `undefined` for a name Intl does not know. */
function canonicalTimeZone(text: string): string | undefined {
  if (!timeZones.has(text)) {
    let canonical: string | undefined;
    try {
      canonical = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
    } catch {
      canonical = undefined;
    }
    timeZones.set(text, canonical);
  }
  return timeZones.get(text);
}
