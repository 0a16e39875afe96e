import type { Logger } from '../../shared/log.js';

/** Options of {@link DiscordClock}. */
export interface DiscordClockOptions {
  /** The relay's clock. */
  readonly now: () => Date;
  readonly log: Logger;
  /** How many of the latest samples the estimate is the median of. */
  readonly samples?: number;
  /**
   * A send that took longer than this (relay clock, request to answer) says too little of when
   * Discord stamped the message: it is not a sample.
   */
  readonly maxSpanMs?: number;
}

/** One of the relay's own messages: Discord's timestamp against the relay's clock. */
interface Sample {
  /** Discord's timestamp minus the midpoint of the send on the relay's clock. */
  readonly offsetMs: number;
  /** How long the send took: the sample is off by at most half of it. */
  readonly spanMs: number;
}

const DEFAULTS = { samples: 9, maxSpanMs: 10_000 } as const;
/** The estimate is logged when it first moves this far from 0, and each time it moves this far again. */
const LOG_STEP_MS = 1_000;

/**
 * How far Discord's clock is from the relay's, learned from the relay's own messages: each DM the
 * bot sends comes back stamped by Discord, so Discord's clock at that moment is known to within the
 * send's round trip. The estimate is the median of the last few samples, so one send that waited
 * on the way (a slow network, a queue in front of the request) does not move it; with two samples,
 * the one whose send was quicker counts. Before any message was sent, and while the samples cannot
 * tell the clocks apart (an offset within the send's own round trip), the clocks are taken to agree.
 *
 * With it, a time Discord stamped (a message, an interaction) is put on the relay's clock, where the
 * core compares it with its own times: "written before the prompt went out" holds whatever the
 * relay's clock is off by.
 */
export class DiscordClock {
  readonly #now: () => Date;
  readonly #log: Logger;
  readonly #size: number;
  readonly #maxSpanMs: number;
  readonly #samples: Sample[] = [];
  #offsetMs = 0;
  #loggedOffsetMs = 0;

  public constructor(options: DiscordClockOptions) {
    this.#now = options.now;
    this.#log = options.log;
    this.#size = Math.max(1, Math.floor(options.samples ?? DEFAULTS.samples));
    this.#maxSpanMs = options.maxSpanMs ?? DEFAULTS.maxSpanMs;
  }

  /** The relay's clock now, in epoch ms. */
  public nowMs(): number {
    return this.#now().getTime();
  }

  /**
   * A message the relay made: the request went out at `startMs` and its answer came at `endMs`
   * (relay clock), and Discord stamped it `discordMs`. Only a message made by that very request
   * counts (not one a retry found already made).
   */
  public observe(startMs: number, endMs: number, discordMs: number): void {
    const spanMs = endMs - startMs;
    if (!Number.isFinite(discordMs) || !(spanMs >= 0) || spanMs > this.#maxSpanMs) return;
    this.#samples.push({ offsetMs: discordMs - (startMs + spanMs / 2), spanMs });
    if (this.#samples.length > this.#size) this.#samples.shift();
    this.#offsetMs = estimate(this.#samples);
    if (Math.abs(this.#offsetMs - this.#loggedOffsetMs) >= LOG_STEP_MS) {
      this.#loggedOffsetMs = this.#offsetMs;
      this.#log.info(
        { discordClockOffsetMs: this.#offsetMs, samples: this.#samples.length },
        'Discord’s clock and the relay’s differ; Discord’s times are read on the relay’s clock',
      );
    }
  }

  /** Discord's clock minus the relay's, in ms; 0 until a message was sent. */
  public offsetMs(): number {
    return this.#offsetMs;
  }

  /** A time Discord stamped, on the relay's clock. */
  public toRelay(discordTime: Date): Date {
    return new Date(discordTime.getTime() - this.#offsetMs);
  }
}

/**
 * The median sample's offset (of two middle samples, the one whose send was quicker; the lower on a
 * tie), or 0 while that sample cannot tell the clocks apart: Discord stamps in whole milliseconds
 * somewhere within the send, so with clocks that agree a sample is off by up to half its send and
 * a millisecond.
 */
function estimate(samples: readonly Sample[]): number {
  const sorted = [...samples].sort((a, b) => a.offsetMs - b.offsetMs);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle]!;
  const lower = sorted[middle - 1];
  const chosen =
    sorted.length % 2 === 1 || lower === undefined || upper.spanMs < lower.spanMs ? upper : lower;
  return Math.abs(chosen.offsetMs) <= chosen.spanMs / 2 + 1 ? 0 : Math.round(chosen.offsetMs);
}
