#!/bin/sh
# An example "bot" in shell: redis-cli and jq read the otp-relay token, wait for a new one, and
# report a token the broker refused. For scripts and cron jobs; a long-running bot should use a
# client library that follows the events channel (otp-relay/client, examples/ioredis-bot.ts,
# examples/python_bot.py).
#
#   examples/redis-cli-bot.sh token             print the token (for `Authorization: Bearer ...`)
#   examples/redis-cli-bot.sh generation        print its generation
#   examples/redis-cli-bot.sh wait N [SECONDS]  wait until generation N or newer is stored (60 s)
#   examples/redis-cli-bot.sh report N          report that the broker answered 401 to token N
#
# With no token stored (before the first login, after an invalidation) `token` and `generation`
# print nothing and exit 2. Configured by REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_USER
# (bot), REDISCLI_AUTH (the bot user's password: redis-cli reads it from the environment, so it is
# never on a command line, where `ps` would show it), RELAY_KEY_PREFIX (otp-relay) and
# RELAY_ACCOUNT (default). For TLS, add redis-cli's --tls options to the cli function below.
#
# Use the token in a pipe, never in a log:
#   curl -H "Authorization: Bearer $(examples/redis-cli-bot.sh token)" -H "Et-App-Key: $ETNA_APP_KEY" ...
set -eu

prefix=${RELAY_KEY_PREFIX:-otp-relay}
account=${RELAY_ACCOUNT:-default}
token_key="$prefix:token:$account"
requests_channel="$prefix:requests:$account"

cli() {
  redis-cli --no-auth-warning -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" \
    --user "${REDIS_USER:-bot}" "$@"
}

# The record of the stored token as one JSON line, or nothing when no token is stored. A Redis
# error (wrong password, no permission) stops the script: it never looks like "no token".
record() {
  reply=$(cli --raw GET "$token_key") || exit 1
  case $reply in
    '') return 0 ;;
    '{'*) printf '%s\n' "$reply" | jq -c '.value // empty' ;;
    *)
      echo "redis-cli-bot: $reply" >&2
      exit 1
      ;;
  esac
}

field() {
  json=$(record) || exit 1
  value=$(printf '%s\n' "$json" | jq -r ".$1 // empty")
  [ -n "$value" ] || exit 2
  printf '%s\n' "$value"
}

case ${1:-} in
  token) field token ;;
  generation) field generation ;;
  wait)
    wanted=${2:?usage: redis-cli-bot.sh wait N [SECONDS]}
    deadline=$(($(date +%s) + ${3:-60}))
    while :; do
      json=$(record) || exit 1
      generation=$(printf '%s\n' "$json" | jq -r '.generation // -1')
      if [ "${generation:--1}" -ge "$wanted" ]; then
        printf '%s\n' "$generation"
        exit 0
      fi
      [ "$(date +%s)" -lt "$deadline" ] || exit 1
      sleep 1
    done
    ;;
  report)
    generation=${2:?usage: redis-cli-bot.sh report N}
    case $generation in *[!0-9]* | '') echo "redis-cli-bot: $generation is not a generation" >&2 && exit 64 ;; esac
    # Prints how many relays heard it (0: none is listening).
    cli PUBLISH "$requests_channel" "{\"type\":\"token.rejected\",\"generation\":$generation}"
    ;;
  *)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 64
    ;;
esac
