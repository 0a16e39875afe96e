import type { PromptRefs } from '../relay/ports/coordination.js';
import type { PromptView } from '../relay/ports/operators.js';

/** How many prompt messages, and logins, are remembered (a few logins' worth per account). */
const REMEMBERED = 2_000;

/**
 * Which account each prompt message and login this relay showed belongs to: a Discord reply names
 * the message it answers, an old prompt's button only its login. Bounded: the oldest go first.
 */
export class PromptAccounts {
  /** Prompt message ID → its account. */
  readonly #messages = new Map<string, string>();
  /** Login ID → its account. */
  readonly #logins = new Map<string, string>();

  /** Remembers a prompt shown (or about to be edited) with where its messages are. */
  public shown(view: PromptView, refs: PromptRefs): void {
    remember(this.#logins, view.loginId, view.account);
    for (const messageId of messageIds(refs)) remember(this.#messages, messageId, view.account);
  }

  /** The account of prompt message `messageId`, when this relay knows it. */
  public ofMessage(messageId: string | undefined): string | undefined {
    return messageId === undefined ? undefined : this.#messages.get(messageId);
  }

  /** The account of login `loginId`, when this relay knows it. */
  public ofLogin(loginId: string | undefined): string | undefined {
    return loginId === undefined ? undefined : this.#logins.get(loginId);
  }
}

/** The message IDs in a prompt's refs (`{ [operatorId]: { messageId } }`); what has another shape is skipped. */
export function messageIds(refs: PromptRefs): string[] {
  const ids: string[] = [];
  for (const ref of Object.values(refs)) {
    const id =
      typeof ref === 'object' && ref !== null ? (ref as { messageId?: unknown }).messageId : undefined;
    if (typeof id === 'string') ids.push(id);
  }
  return ids;
}

/** Whether `refs` name message `messageId`. */
export function mentions(refs: PromptRefs | undefined, messageId: string): boolean {
  return refs !== undefined && messageIds(refs).includes(messageId);
}

/** Sets `key` last in a bounded map, forgetting the oldest. */
function remember(map: Map<string, string>, key: string, value: string): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= REMEMBERED) break;
    map.delete(oldest);
  }
}
