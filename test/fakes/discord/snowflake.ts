/** Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/**
 * Makes real-looking snowflakes (18–19 digits, time-ordered). Real shapes matter: @discordjs/rest
 * only recognises `\d{17,19}` as a route's major parameter when it buckets rate limits. Their time
 * is `atMs` when given, else `nowMs()`: Discord's clock, which the emulator may run ahead of or
 * behind the machine's.
 */
export function createSnowflakeGenerator(nowMs: () => number = Date.now): (atMs?: number) => string {
  let increment = 0n;
  return (atMs) => {
    increment = (increment + 1n) & 0xfffn;
    const ms = BigInt(Math.floor(atMs ?? nowMs())) - DISCORD_EPOCH_MS;
    return ((ms << 22n) | (1n << 17n) | (1n << 12n) | increment).toString();
  };
}

/** The creation time encoded in a snowflake. */
export function snowflakeTime(id: string): Date {
  return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS));
}
