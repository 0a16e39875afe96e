import type fc from 'fast-check';
import type { LoginReason } from '../../src/domain/vocabulary.js';
import { ACCOUNTS, type AccountsWorld } from './model-accounts-world.js';
import type { StepOnePlan } from './model-broker.js';
import { ALICE, BOB } from './model-world.js';

/**
 * The commands of the model of two accounts (test/relay/login-model-accounts.ts) that act on its
 * relay processes, brokers and clock; the operators' inputs are in model-accounts-inputs.ts. Each
 * acts, lets the world settle, then checks every invariant.
 */

export type Model = Record<string, never>;
/** An index into {@link ACCOUNTS}. */
export type AccountIndex = 0 | 1;

export abstract class Step implements fc.AsyncCommand<Model, AccountsWorld> {
  public check(): boolean {
    return true;
  }

  public async run(_model: Model, world: AccountsWorld): Promise<void> {
    await this.act(world);
    await world.settle();
    const violations = await world.check();
    if (violations.length > 0) throw new AccountsViolation(violations, world);
  }

  protected abstract act(world: AccountsWorld): Promise<void> | void;
  public abstract toString(): string;
}

export class AccountsViolation extends Error {
  public constructor(violations: readonly string[], world: AccountsWorld) {
    super(`${violations.join('\n')}\n--- what happened (last 100) ---\n${world.log.slice(-100).join('\n')}`);
  }
}

export const at = <T>(items: readonly T[], index: number): T | undefined =>
  items.length === 0 ? undefined : items[index % items.length];
export const operatorOf = (operator: 0 | 1): string => (operator === 0 ? ALICE : BOB);
export const operatorName = (operator: 0 | 1): string => (operator === 0 ? 'alice' : 'bob');

/** The account an operator means: the one asked for if theirs, else their only one. */
export function accountFor(world: AccountsWorld, operatorId: string, account: AccountIndex): string {
  const mine = world.accountsOf(operatorId);
  return mine.includes(ACCOUNTS[account]) ? ACCOUNTS[account] : mine[0]!;
}

export class Trigger extends Step {
  public constructor(
    readonly process: number,
    readonly account: AccountIndex,
    readonly reason: LoginReason,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const entry = at(world.live(), this.process);
    if (entry !== undefined) world.trigger(entry, ACCOUNTS[this.account], this.reason);
  }
  public toString(): string {
    return `trigger(${this.process}, ${ACCOUNTS[this.account]}, ${this.reason})`;
  }
}

/** Both accounts' logins asked for at once (on one process or two): where questions come from. */
export class TriggerBoth extends Step {
  public constructor(
    readonly live: number,
    readonly paper: number,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const [live, paper] = [at(world.live(), this.live), at(world.live(), this.paper)];
    if (live !== undefined) world.trigger(live, 'live', 'operator-request');
    if (paper !== undefined) world.trigger(paper, 'paper', 'operator-request');
  }
  public toString(): string {
    return `triggerBoth(${this.live}, ${this.paper})`;
  }
}

export class LoginCommand extends Step {
  public constructor(
    readonly process: number,
    readonly operator: 0 | 1,
    readonly account: AccountIndex | undefined,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const entry = at(world.live(), this.process);
    const operatorId = operatorOf(this.operator);
    const account = this.account === undefined ? undefined : accountFor(world, operatorId, this.account);
    if (entry !== undefined) world.loginCommand(entry, operatorId, account);
  }
  public toString(): string {
    const account = this.account === undefined ? '' : `, ${ACCOUNTS[this.account]}`;
    return `slashLogin(${this.process}, ${operatorName(this.operator)}${account})`;
  }
}

export class Advance extends Step {
  public constructor(readonly ms: number) {
    super();
  }
  protected async act(world: AccountsWorld): Promise<void> {
    world.log.push(`advance ${this.ms}ms`);
    await world.advance(this.ms);
  }
  public toString(): string {
    return `advance(${this.ms})`;
  }
}

export type FaultKind =
  | 'kill'
  | 'spawn'
  | 'pause'
  | 'resume'
  | 'store-down'
  | 'store-up'
  | 'store-stall'
  | 'store-unstall'
  | 'release-held';

export class Fault extends Step {
  public constructor(
    readonly kind: FaultKind,
    readonly process: number,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const entry = at(world.live(), this.process);
    if (this.kind !== 'kill' && this.kind !== 'spawn' && this.kind !== 'pause') world.log.push(this.kind);
    switch (this.kind) {
      case 'kill':
        if (entry !== undefined) world.kill(entry);
        return;
      case 'spawn':
        if (world.live().length < 2) world.spawn();
        return;
      case 'pause':
        if (entry !== undefined) world.pause(entry);
        return;
      case 'resume':
        return world.resumeAll();
      case 'store-down':
      case 'store-up':
        return world.storeDown(this.kind === 'store-down');
      case 'store-stall':
      case 'store-unstall':
        return world.stall(this.kind === 'store-stall');
      case 'release-held':
        return world.releaseHeld();
    }
  }
  public toString(): string {
    return `${this.kind}(${this.process})`;
  }
}

export class BrokerPlan extends Step {
  public constructor(
    readonly account: AccountIndex,
    readonly plan: StepOnePlan | 'hold-step-2' | 'answer-step-2',
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const { broker } = world.accounts[this.account]!;
    world.log.push(`${ACCOUNTS[this.account]} broker: ${this.plan}`);
    if (this.plan === 'hold-step-2') broker.holdStepTwo = true;
    else if (this.plan === 'answer-step-2') broker.holdStepTwo = false;
    else broker.stepOnePlans.push(this.plan);
  }
  public toString(): string {
    return `broker(${ACCOUNTS[this.account]}, ${this.plan})`;
  }
}
