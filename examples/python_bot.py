#!/usr/bin/env python3
"""An example trading bot that reads the otp-relay token from Redis with redis-py.

What a bot needs (docs/contract.md#redis-what-bots-read), with prefix P and account A:

* the token: ``json.loads(r.get("P:token:A"))["value"]["token"]``;
* ``P:events:A``: on ``token.updated`` read the key again (the event carries no token), on
  ``token.invalidated`` stop using that generation, and ``token.checked`` is the relay's answer to
  a report: ``valid`` true means token N still works;
* ``P:requests:A``: publish ``{"type":"token.rejected","generation":N}`` when the broker answers
  401 to token N, then wait (with a time-out) for a newer generation or ``token.checked`` valid
  for N.

Generations only grow (also after Redis lost its data): compare them, never count on steps of one.

Configured by the environment: ``REDIS_URL`` (default ``redis://127.0.0.1:6379``),
``RELAY_KEY_PREFIX`` (default ``otp-relay``), ``RELAY_ACCOUNT`` (default ``default``), and for Redis
Sentinel ``REDIS_SENTINELS`` (``host:port,host:port``) with ``REDIS_SENTINEL_MASTER`` (the master
group's name): the bot then asks the sentinels for the master, and follows a failover; the user and
password still come from ``REDIS_URL`` (its host and port are not used). Sentinels with a login of
their own take ``REDIS_SENTINEL_USERNAME`` and ``REDIS_SENTINEL_PASSWORD``, and
``REDIS_SENTINEL_TLS=true`` talks TLS to them. redis-py takes the master the first sentinel that
answers names (no majority, unlike the relay and otp-relay/client: docs/high-availability.md).

Usage::

    python3 examples/python_bot.py                      # run: follow the token, print its generation
    python3 examples/python_bot.py --once               # print the current generation and exit
    python3 examples/python_bot.py --until-generation 5 # wait for generation >= 5, print it, exit
    python3 examples/python_bot.py --report-rejected 5  # report that the broker rejected token 5
    python3 examples/python_bot.py --report-rejected 5 --wait  # ... then print the generation to use

``--report-rejected`` prints how many relays heard the report; 0 means none listens on
``P:requests:A`` (the relay is down, or runs with another prefix or account), which it also says on
stderr. A wait that ends without an answer prints ``none``, says why on stderr, and exits 2.

It never prints the token itself: a token is a secret.
"""

import argparse
import json
import os
import sys
import time
from urllib.parse import unquote, urlparse

import redis
from redis.sentinel import Sentinel


class RelayToken:
    """The current token of one account, kept up to date from Redis."""

    def __init__(self, client, prefix="otp-relay", account="default"):
        self.redis = client
        self.key = f"{prefix}:token:{account}"
        self.events_channel = f"{prefix}:events:{account}"
        self.requests_channel = f"{prefix}:requests:{account}"
        self.token = None
        self.generation = None
        self.expires_ms = 0
        # Generations only grow: never go back to one at or below this.
        self.highest_generation = -1
        # Generations the relay answered token.checked with valid true for.
        self.checked_valid = set()
        self.pubsub = None

    def current(self):
        """(token, generation) if a valid token is held, else None. No Redis call."""
        if self.token is None or time.time() * 1000 >= self.expires_ms:
            return None
        return self.token, self.generation

    def read(self):
        """Reads the key. The relay writes plain JSON: read it with json.loads, nothing else."""
        raw = self.redis.get(self.key)
        if raw is None:
            # Gone: invalidated or expired.
            self.token = None
            return
        try:
            envelope = json.loads(raw)
            record = envelope["value"]
            token, generation = record["token"], record["generation"]
            expires_ms = envelope["expires"]
        except (ValueError, KeyError, TypeError):
            # Never print the value: it may hold a token.
            log("ignored an unreadable stored token value")
            return
        if generation > self.highest_generation and time.time() * 1000 < expires_ms:
            self.token, self.generation, self.expires_ms = token, generation, expires_ms
            self.highest_generation = generation

    def subscribe(self):
        """Subscribes to the relay's events, then reads the key (so nothing falls in between)."""
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(self.events_channel)
        self.read()

    def poll(self, timeout=1.0):
        """Handles at most one event, waiting up to `timeout` seconds for it."""
        message = self.pubsub.get_message(timeout=timeout)
        if message is None or message.get("type") != "message":
            return
        try:
            event = json.loads(message["data"])
            kind, generation = event["type"], event.get("generation")
        except (ValueError, KeyError, TypeError, AttributeError):
            log("ignored a malformed relay event")
            return
        has_generation = isinstance(generation, int) and not isinstance(generation, bool)
        if kind in ("token.updated", "token.invalidated", "token.checked") and not has_generation:
            log("ignored a malformed relay event")
            return
        if kind == "token.updated" and generation > self.highest_generation:
            self.read()
        elif kind == "token.invalidated":
            self.highest_generation = max(self.highest_generation, generation)
            if self.generation is not None and generation >= self.generation:
                self.token = None
        elif kind == "token.checked" and event.get("valid") is True:
            self.checked_valid.add(generation)

    def report_rejected(self, generation):
        """Tells the relay the broker answered 401 to token `generation`. Returns how many heard it."""
        # An answer to an earlier report of the same generation no longer counts.
        self.checked_valid.discard(generation)
        message = json.dumps({"type": "token.rejected", "generation": generation}, separators=(",", ":"))
        return self.redis.publish(self.requests_channel, message)

    def wait_after_rejected(self, generation, deadline):
        """After report_rejected(generation): waits until the relay has answered, or the deadline.

        Returns the (token, generation) to use: a newer token, or the same one when the relay checked
        it with the broker and found it still valid (token.checked). None at the deadline.
        """
        while time.monotonic() < deadline:
            held = self.current()
            if held is not None and held[1] > generation:
                return held
            if held is not None and held[1] == generation and generation in self.checked_valid:
                return held
            self.poll(timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))
        return None

    def follow(self, until_generation=None, deadline=None):
        """Keeps the token current, across Redis reconnects, until a deadline or a generation."""
        backoff = 0.1
        while deadline is None or time.monotonic() < deadline:
            try:
                if self.pubsub is None:
                    self.subscribe()
                    backoff = 0.1
                held = self.current()
                if until_generation is not None and held is not None and held[1] >= until_generation:
                    return held
                before = self.generation
                self.poll(timeout=0.5)
                if self.generation != before and until_generation is None:
                    print(f"token generation {self.generation}", flush=True)
            except (redis.ConnectionError, redis.TimeoutError):
                # An event may be missed while down: subscribe again, which reads the key again.
                log("Redis connection lost; reconnecting")
                self.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        return None

    def close(self):
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except redis.RedisError:
                pass
            self.pubsub = None


def connect(environ):
    """A redis-py client: REDIS_URL's, or through Redis Sentinel when REDIS_SENTINELS is set."""
    url = environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    sentinels = environ.get("REDIS_SENTINELS", "").strip()
    master = environ.get("REDIS_SENTINEL_MASTER", "").strip()
    if not sentinels and not master:
        # Time-outs on every Redis call: a dead connection must not hang the bot.
        return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10)
    if not sentinels or not master:
        raise SystemExit("python_bot: set REDIS_SENTINELS and REDIS_SENTINEL_MASTER together")
    nodes = []
    for part in sentinels.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit(f"python_bot: REDIS_SENTINELS: {part.strip()!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    parsed = urlparse(url)
    credentials = {
        "username": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
    }
    # The sentinels are asked with their own login, if any; the master is logged in to with
    # REDIS_URL's. A connection that finds a demoted master (READONLY) or none asks the sentinels again.
    sentinel_kwargs = {"socket_timeout": 1.0}
    if environ.get("REDIS_SENTINEL_USERNAME", "").strip():
        sentinel_kwargs["username"] = environ["REDIS_SENTINEL_USERNAME"].strip()
    if environ.get("REDIS_SENTINEL_PASSWORD", "").strip():
        sentinel_kwargs["password"] = environ["REDIS_SENTINEL_PASSWORD"].strip()
    if environ.get("REDIS_SENTINEL_TLS", "").strip().lower() == "true":
        sentinel_kwargs["ssl"] = True
    sentinel = Sentinel(nodes, socket_timeout=2.0, sentinel_kwargs=sentinel_kwargs)
    return sentinel.master_for(master, decode_responses=True, socket_timeout=5.0, **credentials)


def log(message):
    print(f"python_bot: {message}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description="Example otp-relay bot (prints generations, never the token)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="print the current token's generation and exit")
    mode.add_argument("--until-generation", type=int, metavar="N", help="wait for generation >= N, print it, exit")
    mode.add_argument("--report-rejected", type=int, metavar="N", help="report that the broker rejected token N")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="with --report-rejected: then wait for the relay's answer, print the generation to use",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a wait lasts at most (30)")
    args = parser.parse_args()
    if args.wait and args.report_rejected is None:
        parser.error("--wait goes with --report-rejected")

    client = connect(os.environ)
    relay = RelayToken(
        client,
        prefix=os.environ.get("RELAY_KEY_PREFIX", "otp-relay"),
        account=os.environ.get("RELAY_ACCOUNT", "default"),
    )
    try:
        if args.report_rejected is not None:
            deadline = time.monotonic() + args.timeout
            if args.wait:
                # Subscribed before the report goes out: the relay's answer cannot be missed.
                relay.subscribe()
            heard = relay.report_rejected(args.report_rejected)
            print(heard, flush=True)
            if heard == 0:
                log(
                    f"no relay listens on {relay.requests_channel}: is it running, with this "
                    "RELAY_KEY_PREFIX and RELAY_ACCOUNT?"
                    + (f" Waiting up to {args.timeout:g} s for a newer token anyway." if args.wait else "")
                )
            if not args.wait:
                return 0
            held = relay.wait_after_rejected(args.report_rejected, deadline)
            if held is None:
                log(
                    f"no newer token than {args.report_rejected}, and no answer that it is still valid, "
                    f"within {args.timeout:g} s"
                )
            print(held[1] if held else "none", flush=True)
            return 0 if held else 2
        if args.once:
            relay.read()
            held = relay.current()
            print(held[1] if held else "none", flush=True)
            return 0 if held else 2
        if args.until_generation is not None:
            held = relay.follow(args.until_generation, deadline=time.monotonic() + args.timeout)
            print(held[1] if held else "none", flush=True)
            return 0 if held else 2

        # A real bot would call the broker here with the header "Authorization: Bearer <token>",
        # and on a 401 call relay.report_rejected(generation), then
        # relay.wait_after_rejected(generation, deadline) for the token to use next.
        relay.follow()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        relay.close()
        client.close()


if __name__ == "__main__":
    sys.exit(main())
