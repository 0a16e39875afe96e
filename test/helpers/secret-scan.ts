/**
 * Which of `secrets` appear in `lines`, as whole values (not inside a longer word or number).
 * JSON log lines lose their `time` and `pid` first: numbers a 6-digit code could hide in by chance.
 */
export function findLeaks(lines: readonly string[], secrets: Iterable<string>): string[] {
  const text = lines
    .map((line) => {
      try {
        const { time: _time, pid: _pid, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify(rest);
      } catch {
        return line;
      }
    })
    .join('\n');
  return [...secrets].filter((secret) =>
    new RegExp(`(^|[^0-9A-Za-z])${secret.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}([^0-9A-Za-z]|$)`).test(
      text,
    ),
  );
}
