#!/usr/bin/env python3
"""An example trading bot that reads the otp-relay token from Redis with redis-py.

What a bot needs (DESIGN.md, "Redis: what bots read"), with prefix P and account A:

* the token: ``json.loads(r.get("P:token:A"))["value"]["token"]``;
* ``P:events:A``: on ``token.updated`` read the key again (the event carries no token), on
  ``token.invalidated`` stop using that generation;
* ``P:requests:A``: publish ``{"type":"token.rejected","generation":N}`` when the broker answers
  401 to token N.

Configured by the environment: ``REDIS_URL`` (default ``redis://127.0.0.1:6379``),
``RELAY_KEY_PREFIX`` (default ``otp-relay``), ``RELAY_ACCOUNT`` (default ``default``), and for Redis
Sentinel ``REDIS_SENTINELS`` (``host:port,host:port``) with ``REDIS_SENTINEL_MASTER`` (the master
group's name): the bot then asks the sentinels for the master, and follows a failover; the user and
password still come from ``REDIS_URL`` (its host and port are not used).

Usage::

    python3 examples/python_bot.py                      # run: follow the token, print its generation
    python3 examples/python_bot.py --once               # print the current generation and exit
    python3 examples/python_bot.py --until-generation 5 # wait for generation >= 5, print it, exit
    python3 examples/python_bot.py --report-rejected 5  # report that the broker rejected token 5

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
        if kind == "token.updated" and generation is not None and generation > self.highest_generation:
            self.read()
        elif kind == "token.invalidated" and generation is not None:
            self.highest_generation = max(self.highest_generation, generation)
            if self.generation is not None and generation >= self.generation:
                self.token = None

    def report_rejected(self, generation):
        """Tells the relay the broker answered 401 to token `generation`. Returns how many heard it."""
        message = json.dumps({"type": "token.rejected", "generation": generation}, separators=(",", ":"))
        return self.redis.publish(self.requests_channel, message)

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
            except redis.ConnectionError:
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
        return redis.Redis.from_url(url, decode_responses=True)
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
    # The sentinels are asked without credentials; the master is logged in to with REDIS_URL's.
    # A connection that finds a demoted master (READONLY) or none asks the sentinels again.
    sentinel = Sentinel(nodes, socket_timeout=2.0, sentinel_kwargs={"socket_timeout": 1.0})
    return sentinel.master_for(master, decode_responses=True, socket_timeout=5.0, **credentials)


def log(message):
    print(f"python_bot: {message}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description="Example otp-relay bot (prints generations, never the token)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="print the current token's generation and exit")
    mode.add_argument("--until-generation", type=int, metavar="N", help="wait for generation >= N, print it, exit")
    mode.add_argument("--report-rejected", type=int, metavar="N", help="report that the broker rejected token N")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds --until-generation waits (30)")
    args = parser.parse_args()

    client = connect(os.environ)
    relay = RelayToken(
        client,
        prefix=os.environ.get("RELAY_KEY_PREFIX", "otp-relay"),
        account=os.environ.get("RELAY_ACCOUNT", "default"),
    )
    try:
        if args.report_rejected is not None:
            print(relay.report_rejected(args.report_rejected), flush=True)
            return 0
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
        # and on a 401 call relay.report_rejected(generation), then wait for a newer generation.
        relay.follow()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        relay.close()
        client.close()


if __name__ == "__main__":
    sys.exit(main())
