import { describe, expect, it } from 'vitest';
import { MemoryCoordination, MemoryInputClaims } from '../../src/store/memory-coordination.js';
import { codeClaim, sharedLogin } from '../contracts/coordination.contract.js';

describe('MemoryCoordination', () => {
  it('expires the lock, the pending login and input claims by its own clock', async () => {
    let nowMs = Date.parse('2026-01-05T09:00:00Z');
    const coordination = new MemoryCoordination({ now: () => nowMs });
    const login = sharedLogin({ deadline: new Date(nowMs + 60_000) });

    expect(await coordination.acquireLock('relay-a', 30_000)).toBe(true);
    expect(await coordination.savePending(login, 'relay-a')).toBe('saved');
    expect(await coordination.claimInput('dm-1', 30_000)).toBe(true);

    nowMs += 30_000;
    expect(await coordination.acquireLock('relay-b', 30_000)).toBe(true);
    expect(await coordination.claimInput('dm-1', 30_000)).toBe(true);
    expect((await coordination.loadPending())?.loginId).toBe(login.loginId);

    nowMs = login.deadline.getTime() - 1;
    expect((await coordination.claimCode(codeClaim(login.loginId))).ok).toBe(true);
    nowMs = login.deadline.getTime();
    expect(await coordination.loadPending()).toBeUndefined();
    expect(await coordination.endPending(login.loginId, { kind: 'any' })).toBeUndefined();
  });

  it('refuses to save once the lock has expired by its own clock', async () => {
    let nowMs = Date.parse('2026-01-05T09:00:00Z');
    const coordination = new MemoryCoordination({ now: () => nowMs });
    expect(await coordination.acquireLock('relay-a', 30_000)).toBe(true);
    nowMs += 29_999;
    expect(
      await coordination.savePending(sharedLogin({ deadline: new Date(nowMs + 60_000) }), 'relay-a'),
    ).toBe('saved');
    await coordination.endPending((await coordination.loadPending())!.loginId, { kind: 'any' });
    nowMs += 1;
    expect(
      await coordination.savePending(sharedLogin({ deadline: new Date(nowMs + 60_000) }), 'relay-a'),
    ).toBe('lock-lost');
    expect(await coordination.loadPending()).toBeUndefined();
  });

  it('refuses a deadline already past by its own clock', async () => {
    const nowMs = Date.parse('2026-01-05T09:00:00Z');
    const coordination = new MemoryCoordination({ now: () => nowMs });
    expect(await coordination.acquireLock('relay-a', 30_000)).toBe(true);
    await expect(
      coordination.savePending(sharedLogin({ deadline: new Date(nowMs) }), 'relay-a'),
    ).rejects.toBeInstanceOf(RangeError);
    expect(await coordination.savePending(sharedLogin({ deadline: new Date(nowMs + 1) }), 'relay-a')).toBe(
      'saved',
    );
    expect(await coordination.loadPending()).toBeDefined();
  });

  it('keeps instances independent', async () => {
    const a = new MemoryCoordination();
    const b = new MemoryCoordination();
    expect(await a.acquireLock('relay', 1_000)).toBe(true);
    expect(await b.acquireLock('relay', 1_000)).toBe(true);
  });

  it('claims inputs together when several accounts share input claims, as under one Redis key', async () => {
    const claims = new MemoryInputClaims();
    const live = new MemoryCoordination({ inputClaims: claims });
    const paper = new MemoryCoordination({ inputClaims: claims });
    expect(await live.claimInput('dm-1', 30_000)).toBe(true);
    expect(await paper.claimInput('dm-1', 30_000)).toBe(false);
    // A code's claim takes its input with it: the other account's login finds it taken.
    expect(await paper.acquireLock('relay', 30_000)).toBe(true);
    const login = sharedLogin();
    expect(await paper.savePending(login, 'relay')).toBe('saved');
    const claim = codeClaim(login.loginId, { input: { inputId: 'dm-1', ttlMs: 30_000 } });
    expect(await paper.claimCode(claim)).toEqual({ ok: false, reason: 'input-taken' });
    expect(await paper.claimCode({ ...claim, input: { inputId: 'dm-2', ttlMs: 30_000 } })).toMatchObject({
      ok: true,
    });
    expect(await live.claimInput('dm-2', 30_000)).toBe(false);
    // Without them, each account's claims are its own.
    expect(await new MemoryCoordination().claimInput('dm-1', 30_000)).toBe(true);
  });
});
