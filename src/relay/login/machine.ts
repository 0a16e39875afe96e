import {
  onCode,
  onCodeAnswered,
  onCodeClaimed,
  onLateCodeEnded,
  onPromptsFound,
  onReopened,
  onTokenPublished,
} from './answer.js';
import { onCancelEnded, onResendEnded, onResendFound, onResendRequested } from './buttons.js';
import { onDeadline, onDeadlineChecked, onDeadlineReported } from './deadline.js';
import { adopt, onPendingSaved, onReminder, onRequest, onStartChecked, onStepOneDone } from './start.js';
import type { LoginInput, LoginSettings, LoginView, Transition } from './types.js';

/**
 * One login's life as explicit states and transitions: a pure function from this relay's view and
 * an input to the next view and the effects to run. No I/O, no clock, no randomness: what those
 * give (the time, broker answers, coordination results, a new key) comes in with the inputs.
 *
 * ```
 * none ──request──▶ starting ──step 1: code──▶ awaiting-code ──code claimed──▶ exchanging ──token──▶ ended(succeeded)
 *                     │  └─step 1: token──▶ ended(succeeded)   ▲   │              │ └─refused, attempts left──┘
 *                     ├─broker error──▶ ended(failed)          │   │              └─refused, none left / spent──▶ ended(rejected)
 *                     └─not recorded──▶ ended(abandoned)       │   └─deadline / cancel / new code──▶ ended(expired | cancelled)
 * ended ──"Send a new code", /login, schedule──▶ starting
 * ```
 *
 * Where each input comes from and where each effect runs:
 * - `start.ts`: triggers, the checks before step 1, step 1, recording the pending login, adoption;
 * - `answer.ts`: an operator's code, from its claim to the broker's answer;
 * - `buttons.ts`: "Send a new code" and "Cancel"; `deadline.ts`: the deadline;
 * - `endings.ts`: how a login ends (the failed-login ending exists there once);
 * - `runner.ts` runs every effect against the ports and feeds each call's result back here;
 *   `../relay.ts` is the facade the rest of the relay and the tests use.
 */
export function transition(
  view: LoginView,
  input: LoginInput,
  settings: LoginSettings,
  now: number,
): Transition {
  switch (input.kind) {
    case 'request':
      return onRequest(view, input);
    case 'start-checked':
      return onStartChecked(view, input);
    case 'step-one-done':
      return onStepOneDone(view, settings, input);
    case 'pending-saved':
      return onPendingSaved(view, settings, input, now);
    case 'halt-known':
      return { view: { ...view, halted: input.halt }, effects: [] };
    case 'adopt':
      return adopt(view, input.pending);
    case 'code':
      return onCode(view, input);
    case 'code-claimed':
      return onCodeClaimed(view, input);
    case 'prompts-found':
      return onPromptsFound(view, settings, input);
    case 'code-answered':
      return onCodeAnswered(exchangeOver(view, input.login.loginId), settings, input);
    case 'token-published':
      return onTokenPublished(view, input);
    case 'reopened':
      return onReopened(view, input, now);
    case 'late-code-ended':
      return onLateCodeEnded(exchangeOver(view, input.login.loginId), input, now);
    case 'resend':
      return {
        view,
        effects: [{ kind: 'find-resend', operatorId: input.operatorId, loginId: input.loginId }],
      };
    case 'resend-found':
      return onResendFound(view, settings, input);
    case 'resend-ended':
      return onResendEnded(view, input, now);
    case 'resend-requested':
      return onResendRequested(view, input);
    case 'cancel':
      return {
        view,
        effects: [{ kind: 'end-for-cancel', operatorId: input.operatorId, loginId: input.loginId }],
      };
    case 'cancel-ended':
      return onCancelEnded(view, input, now);
    case 'prompts-shown': {
      // Kept for the login they belong to (or the last one, ended), so later edits find them.
      const login = view.login;
      const current =
        (login.kind === 'awaiting-code' || login.kind === 'exchanging') && login.loginId === input.loginId;
      return {
        view: current || login.kind === 'ended' ? { ...view, prompts: input.refs } : view,
        effects: [],
      };
    }
    case 'ending-claimed':
      return {
        view,
        effects: input.won
          ? input.then.map((effect) =>
              effect.kind === 'observe-ended' ? { ...effect, claimed: true } : effect,
            )
          : [
              {
                kind: 'log',
                level: 'info',
                fields: { loginId: input.loginId },
                msg: "another relay reported this login's end",
              },
              ...input.otherwise,
            ],
      };
    case 'reminder':
      return onReminder(view, input);
    case 'deadline':
      return onDeadline(view, input);
    case 'deadline-checked':
      return onDeadlineChecked(view, settings, input);
    case 'deadline-reported':
      return onDeadlineReported(view, input, now);
  }
}

/** This relay's code for `loginId` has its answer (or was never sent): its deadline is its own again. */
function exchangeOver(view: LoginView, loginId: string): LoginView {
  return view.exchangingHere === loginId ? { ...view, exchangingHere: undefined } : view;
}
