import type { PromptRefs } from '../../relay/ports/coordination.js';

/** Where one operator's prompt message is: the DM channel and the message in it. */
export interface PromptMessageRef {
  readonly channelId: string;
  readonly messageId: string;
}

/** What {@link readPromptRefs} made of refs from outside. */
export interface ReadPromptRefs {
  /** Operator ID → a well-formed ref, for configured operators only. */
  readonly refs: ReadonlyMap<string, PromptMessageRef>;
  /** Entries of an unknown shape (or the whole value, counted once), left out. */
  readonly malformed: number;
  /** Well-formed entries of users who are not operators (any more), left out. */
  readonly strangers: number;
}

/** A Discord ID: a snowflake, 17 to 20 decimal digits. */
const SNOWFLAKE = /^\d{17,20}$/;

/**
 * Reads prompt refs that come from outside this relay (the coordination store: another relay, or
 * this one before a restart): `{ [operatorId]: { channelId, messageId } }`. Defensive, since the
 * store is shared and outlives versions: anything not of that shape is left out, and so is a ref for
 * a user who is not in `operatorIds`, so a ref can only ever make the channel edit a message in a
 * configured operator's DM.
 */
export function readPromptRefs(value: unknown, operatorIds: ReadonlySet<string>): ReadPromptRefs {
  const refs = new Map<string, PromptMessageRef>();
  if (!isRecord(value)) return { refs, malformed: 1, strangers: 0 };
  let malformed = 0;
  let strangers = 0;
  for (const [operatorId, entry] of Object.entries(value)) {
    const ref = promptMessageRef(entry);
    if (ref === undefined || !SNOWFLAKE.test(operatorId)) malformed += 1;
    else if (!operatorIds.has(operatorId)) strangers += 1;
    else refs.set(operatorId, ref);
  }
  return { refs, malformed, strangers };
}

/** The refs to share: a plain JSON object, one entry per operator whose prompt message is known. */
export function toPromptRefs(messages: ReadonlyMap<string, PromptMessageRef>): PromptRefs {
  const refs: Record<string, PromptMessageRef> = {};
  for (const [operatorId, { channelId, messageId }] of messages) refs[operatorId] = { channelId, messageId };
  return refs;
}

function promptMessageRef(entry: unknown): PromptMessageRef | undefined {
  if (!isRecord(entry)) return undefined;
  const { channelId, messageId } = entry;
  if (typeof channelId !== 'string' || !SNOWFLAKE.test(channelId)) return undefined;
  if (typeof messageId !== 'string' || !SNOWFLAKE.test(messageId)) return undefined;
  return { channelId, messageId };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
