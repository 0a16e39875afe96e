import fc from 'fast-check';
import { Secret } from '../../src/shared/secret.js';
import { ACCOUNTS, type AccountsWorld } from './model-accounts-world.js';
import { accountFor, at, operatorName, operatorOf, Step, type AccountIndex } from './model-accounts-steps.js';
import type { ModelInput } from './model-world.js';

/**
 * The operators' inputs of the model of two accounts (test/relay/login-model-accounts.ts): codes
 * of either account (right, older, wrong; plain, a reply to one of its prompt messages, its modal
 * naming account and login, or the login only), written now or earlier, delivered at once, late or
 * again, to either process first; presses of a "which account?" question's buttons; a prompt's
 * buttons, naming their account.
 */

export type CodeKind = 'right' | 'old' | 'wrong-1' | 'wrong-2';
/**
 * How the code comes: a plain DM, a reply to a prompt message (the latest or an older login's), or
 * a modal naming account and login (the latest or an older one), or its login only.
 */
export type Via = 'plain' | 'reply' | 'reply-old' | 'modal' | 'modal-old' | 'modal-bare';

export interface CodeSpec {
  readonly operator: 0 | 1;
  /** The account whose SMS the operator types (and whose prompt or modal it uses). */
  readonly account: AccountIndex;
  readonly kind: CodeKind;
  readonly via: Via;
  readonly writtenAgoMs: number;
}

function writeCode(world: AccountsWorld, spec: CodeSpec): ModelInput {
  const operatorId = operatorOf(spec.operator);
  const account = world.account(accountFor(world, operatorId, spec.account));
  const codes = account.smsCodes();
  const code =
    spec.kind === 'right'
      ? (codes.at(-1) ?? '900001')
      : spec.kind === 'old'
        ? (codes.at(-2) ?? '900002')
        : spec.kind === 'wrong-1'
          ? '900001'
          : '900002';
  const base = {
    kind: 'code' as const,
    operatorId,
    code: new Secret(code),
    sentAt: new Date(Date.now() - spec.writtenAgoMs),
    inputId: world.newInputId(),
  };
  if (spec.via === 'reply' || spec.via === 'reply-old') {
    const messages = world.routes.messages.filter(
      (m) => m.account === account.name && m.operatorId === operatorId,
    );
    const current = messages.at(-1);
    const older = messages.findLast((m) => m.loginId !== current?.loginId) ?? current;
    const message = spec.via === 'reply' ? current : older;
    return message === undefined ? base : { ...base, replyTo: message.messageId };
  }
  if (spec.via === 'plain') return base;
  const logins = account.promptedLogins;
  const loginId = (spec.via === 'modal-old' ? (logins.at(-2) ?? logins.at(-1)) : logins.at(-1)) ?? 'X0';
  return spec.via === 'modal-bare' ? { ...base, loginId } : { ...base, loginId, account: account.name };
}

export const accountIndex = fc.constantFrom<AccountIndex>(0, 1);
export const operator = fc.constantFrom<0 | 1>(0, 1);
export const processIndex = fc.nat(1);

export const codeSpec = fc.record({
  operator,
  account: accountIndex,
  kind: fc.constantFrom<CodeKind>('right', 'right', 'right', 'old', 'wrong-1', 'wrong-2'),
  via: fc.constantFrom<Via>(
    'plain',
    'plain',
    'plain',
    'reply',
    'reply',
    'reply-old',
    'modal',
    'modal-old',
    'modal-bare',
  ),
  writtenAgoMs: fc.constantFrom(0, 0, 0, 3_000, 60_000, 10 * 60_000),
});

const specText = (s: CodeSpec) =>
  `${operatorName(s.operator)} ${ACCOUNTS[s.account]} ${s.kind} ${s.via} -${s.writtenAgoMs}ms`;

export class Code extends Step {
  public constructor(
    readonly spec: CodeSpec,
    readonly late: boolean,
    readonly first: number,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const input = writeCode(world, this.spec);
    if (this.late) world.late.push(input);
    else world.deliver(input, this.first);
  }
  public toString(): string {
    return `code(${specText(this.spec)}${this.late ? ', late' : `, to ${this.first} first`})`;
  }
}

export class BothAnswer extends Step {
  public constructor(
    readonly first: CodeSpec,
    readonly second: CodeSpec,
    readonly process: number,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const a = writeCode(world, { ...this.first, operator: 0 });
    const b = writeCode(world, { ...this.second, operator: 1 });
    world.deliver(a, this.process);
    world.deliver(b, this.process);
  }
  public toString(): string {
    const [a, b] = [specText({ ...this.first, operator: 0 }), specText({ ...this.second, operator: 1 })];
    return `bothAnswer(${a}; ${b}; to ${this.process} first)`;
  }
}

export interface PressSpec {
  readonly process: number;
  readonly account: AccountIndex;
}

/** Presses of a "which account?" question's buttons (the latest, or an older one), by its operator. */
export class Press extends Step {
  public constructor(
    readonly presses: readonly PressSpec[],
    readonly question: number,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const questions = world.routes.questions;
    if (questions.length === 0) return;
    const question = questions[questions.length - 1 - (this.question % questions.length)]!;
    for (const press of this.presses) {
      const entry = at(world.live(), press.process);
      const account = question.accounts[press.account % question.accounts.length]!;
      if (entry !== undefined) world.press(entry, question.inputId, account, question.operatorId);
    }
  }
  public toString(): string {
    const presses = this.presses.map((p) => `${p.process}:${ACCOUNTS[p.account]}`).join(', ');
    return `press(${presses}; question -${this.question})`;
  }
}

export class Button extends Step {
  public constructor(
    readonly kind: 'resend' | 'cancel',
    readonly operator: 0 | 1,
    readonly account: AccountIndex,
    readonly old: boolean,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    const operatorId = operatorOf(this.operator);
    const account = world.account(accountFor(world, operatorId, this.account));
    const logins = account.promptedLogins;
    const loginId = this.old ? logins.at(-2) : logins.at(-1);
    if (loginId === undefined) return;
    world.deliver({
      kind: this.kind,
      operatorId,
      loginId,
      account: account.name,
      inputId: world.newInputId(),
    });
  }
  public toString(): string {
    return `${this.kind}(${operatorName(this.operator)}, ${ACCOUNTS[this.account]}${this.old ? ', older prompt' : ''})`;
  }
}

export class Redeliver extends Step {
  public constructor(
    readonly late: boolean,
    readonly index: number,
    readonly first: number,
  ) {
    super();
  }
  protected act(world: AccountsWorld): void {
    if (this.late) {
      if (world.late.length === 0) return;
      const [input] = world.late.splice(this.index % world.late.length, 1);
      world.deliver(input!, this.first);
      return;
    }
    // Discord delivers a message again (a gateway resume) shortly after, never after the claim TTL.
    const recent = world.delivered.filter((d) => Date.now() - d.atMs < 5 * 60_000);
    const again = at(recent, this.index);
    if (again !== undefined) world.deliver(again.input, this.first);
  }
  public toString(): string {
    return `${this.late ? 'deliverLate' : 'deliverAgain'}(${this.index}, to ${this.first} first)`;
  }
}

export const pressSpec = fc.record({ process: processIndex, account: accountIndex });
