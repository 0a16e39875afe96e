/** One thing wrong with the configuration. `message` never contains a secret's value. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * The configuration cannot be used. Lists every problem found, one line each, as
 * `VARIABLE: what is wrong and what it accepts`; a secret's value is never part of it.
 */
export class ConfigError extends Error {
  public override readonly name = 'ConfigError';
  public readonly problems: readonly ConfigProblem[];

  public constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(
      `Invalid configuration (${count}):\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}
