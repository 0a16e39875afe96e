#!/bin/sh
# An example "bot" in shell: redis-cli and jq read the otp-relay token, wait for a new one, and
# report a token the broker refused. For scripts and cron jobs; a long-running bot should use a
# client library that follows the events channel (otp-relay/client, examples/ioredis-bot.mjs,
# examples/python_bot.py).
#
#   examples/redis-cli-bot.sh token             print the token (for `Authorization: Bearer ...`)
#   examples/redis-cli-bot.sh generation        print its generation
#   examples/redis-cli-bot.sh wait N [SECONDS]  wait until generation N or newer is stored (60 s)
#   examples/redis-cli-bot.sh report N          report that the broker answered 401 to token N
#
# With no token stored (before the first login, after an invalidation) `token` and `generation`
# print nothing and exit 2; `wait` says on stderr what it waits for, and when none comes in time
# says so and exits 2. A Redis error (wrong password, no permission) exits 1, never "no token".
#
# Configured like the other examples: REDIS_URL (default redis://127.0.0.1:6379; with the compose
# ACL redis://bot:<password>@127.0.0.1:6379, rediss:// for TLS, /N for database N; percent-escapes
# in the user and password are decoded), RELAY_KEY_PREFIX (otp-relay) and RELAY_ACCOUNT (default).
# With Redis Sentinel, REDIS_SENTINELS (host:port,host:port) and REDIS_SENTINEL_MASTER (the master
# group's name): the sentinels are asked for the master (without credentials), and REDIS_URL gives
# only the user and password. The password goes to redis-cli in REDISCLI_AUTH, never on a command
# line, where `ps` would show it.
#
# Use the token in a pipe, never in a log:
#   curl -H "Authorization: Bearer $(examples/redis-cli-bot.sh token)" -H "Et-App-Key: $ETNA_APP_KEY" ...
set -eu

prefix=${RELAY_KEY_PREFIX:-otp-relay}
account=${RELAY_ACCOUNT:-default}
token_key="$prefix:token:$account"
requests_channel="$prefix:requests:$account"

fail() {
  echo "redis-cli-bot: $*" >&2
  exit 1
}

# %XX escapes decoded. The value comes through a pipe from printf (a shell builtin), never as an
# argument of a process.
url_decode() {
  printf '%s' "$1" | awk '
    BEGIN { hex = "0123456789abcdef" }
    {
      s = $0
      out = ""
      while ((i = index(s, "%")) > 0) {
        h = tolower(substr(s, i + 1, 2))
        out = out substr(s, 1, i - 1)
        if (h ~ /^[0-9a-f][0-9a-f]$/) {
          out = out sprintf("%c", (index(hex, substr(h, 1, 1)) - 1) * 16 + index(hex, substr(h, 2, 1)) - 1)
          s = substr(s, i + 3)
        } else {
          out = out "%"
          s = substr(s, i + 1)
        }
      }
      printf "%s", out s
    }'
}

# host and port of "host:port", "[v6]:port", "host" or "[v6]" (port: $2 when none is given).
split_address() {
  case $1 in
    \[*\]:*) address_host=${1%%]*} address_port=${1##*]:} ;;
    \[*\]) address_host=${1%]} address_port=$2 ;;
    *:*) address_host=${1%:*} address_port=${1##*:} ;;
    *) address_host=$1 address_port=$2 ;;
  esac
  address_host=${address_host#\[}
  case $address_port in '' | *[!0-9]*) return 1 ;; esac
  [ -n "$address_host" ]
}

url=${REDIS_URL:-redis://127.0.0.1:6379}
case $url in
  redis://*) tls='' rest=${url#redis://} ;;
  rediss://*) tls=--tls rest=${url#rediss://} ;;
  *) fail "REDIS_URL must start with redis:// or rediss://" ;;
esac
rest=${rest%%[?#]*}
user='' password=''
case $rest in
  *@*)
    userinfo=${rest%@*}
    rest=${rest##*@}
    case $userinfo in
      *:*)
        user=$(url_decode "${userinfo%%:*}")
        password=$(url_decode "${userinfo#*:}")
        ;;
      *) user=$(url_decode "$userinfo") ;;
    esac
    ;;
esac
db=''
case $rest in */*) db=${rest#*/} rest=${rest%%/*} ;; esac
case $db in *[!0-9]*) fail "REDIS_URL: the database must be a number" ;; esac
split_address "${rest:-127.0.0.1}" 6379 || fail "REDIS_URL: no host and port in it"
host=$address_host port=$address_port

sentinels=${REDIS_SENTINELS:-}
master=${REDIS_SENTINEL_MASTER:-}
if [ -n "$sentinels" ] || [ -n "$master" ]; then
  [ -n "$sentinels" ] && [ -n "$master" ] || fail "set REDIS_SENTINELS and REDIS_SENTINEL_MASTER together"
  found=''
  for sentinel in $(printf '%s' "$sentinels" | tr ',' ' '); do
    split_address "$sentinel" 26379 || fail "REDIS_SENTINELS: $sentinel is not host:port"
    reply=$(redis-cli --no-auth-warning -h "$address_host" -p "$address_port" --raw \
      SENTINEL get-master-addr-by-name "$master" 2>/dev/null) || continue
    master_host=$(printf '%s\n' "$reply" | sed -n 1p)
    master_port=$(printf '%s\n' "$reply" | sed -n 2p)
    case $master_port in '' | *[!0-9]*) continue ;; esac
    host=$master_host port=$master_port found=1
    break
  done
  [ -n "$found" ] || fail "no sentinel of REDIS_SENTINELS ($sentinels) knows the master $master"
fi

cli() {
  # shellcheck disable=SC2086 # $tls is empty or one word
  if [ -n "$password" ]; then
    REDISCLI_AUTH=$password redis-cli --no-auth-warning $tls -h "$host" -p "$port" \
      ${user:+--user "$user"} ${db:+-n "$db"} "$@"
  else
    redis-cli --no-auth-warning $tls -h "$host" -p "$port" ${user:+--user "$user"} ${db:+-n "$db"} "$@"
  fi
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
    seconds=${3:-60}
    case $wanted$seconds in *[!0-9]*) echo "redis-cli-bot: N and SECONDS are whole numbers" >&2 && exit 64 ;; esac
    deadline=$(($(date +%s) + seconds))
    echo "redis-cli-bot: waiting up to $seconds s for generation $wanted or newer at $token_key" >&2
    while :; do
      json=$(record) || exit 1
      generation=$(printf '%s\n' "$json" | jq -r '.generation // -1')
      if [ "${generation:--1}" -ge "$wanted" ]; then
        printf '%s\n' "$generation"
        exit 0
      fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        [ "${generation:--1}" -ge 0 ] && seen="generation $generation" || seen="no token"
        echo "redis-cli-bot: no generation $wanted or newer at $token_key within $seconds s ($seen)" >&2
        exit 2
      fi
      sleep 1
    done
    ;;
  report)
    generation=${2:?usage: redis-cli-bot.sh report N}
    case $generation in *[!0-9]* | '') echo "redis-cli-bot: $generation is not a generation" >&2 && exit 64 ;; esac
    # Prints how many relays heard it.
    heard=$(cli --raw PUBLISH "$requests_channel" "{\"type\":\"token.rejected\",\"generation\":$generation}") || exit 1
    case $heard in
      '' | *[!0-9]*) fail "$heard" ;;
    esac
    printf '%s\n' "$heard"
    if [ "$heard" = 0 ]; then
      echo "redis-cli-bot: no relay listens on $requests_channel: is it running, with this RELAY_KEY_PREFIX and RELAY_ACCOUNT?" >&2
    fi
    ;;
  *)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 64
    ;;
esac
