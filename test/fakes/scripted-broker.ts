import { vi } from 'vitest';
import type {
  Broker,
  StartLoginResult,
  SubmitCodeResult,
  TokenValidity,
} from '../../src/relay/ports/broker.js';
import { Secret } from '../../src/shared/secret.js';

/**
 * An in-memory {@link Broker} whose answers a test scripts with vitest mocks. By default step 1 asks
 * for a code, the code `123456` succeeds and any other is refused with the interim still usable.
 */
export class ScriptedBroker implements Broker {
  public readonly submittedCodes: string[] = [];
  #tokens = 0;

  public readonly startLogin = vi.fn(async (_signal?: AbortSignal): Promise<StartLoginResult> => ({
    kind: 'code-required',
    interim: new Secret('interim-secret'),
  }));

  public readonly submitCode = vi.fn(async (_interim: Secret, code: Secret): Promise<SubmitCodeResult> => {
    this.submittedCodes.push(code.reveal());
    if (code.reveal() === '123456') {
      this.#tokens += 1;
      return { kind: 'token', token: new Secret(`final-token-${this.#tokens}`) };
    }
    return { kind: 'code-rejected', interimSpent: false };
  });

  public readonly validate = vi.fn(async (_token: Secret): Promise<TokenValidity> => 'valid');
}
