#!/bin/sh
# Renders an ACL template (users.acl.template) into the file `redis-server --aclfile` loads, then,
# when a command follows, runs it without the passwords in its environment.
#
#   render-acl.sh TEMPLATE OUTPUT [COMMAND [ARG...]]
#
# In the template, whole-line comments and blank lines are dropped (Redis accepts no comments in an
# ACL file), an indented line continues the line above it, and every `${NAME}` becomes
# `#<sha256 hex of $NAME>`: the rendered file holds password hashes, never a password. Each NAME
# must be set to at least 16 characters from A-Z a-z 0-9 . _ ~ - (URL-safe: the relay's password
# also goes into REDIS_URL; e.g. `openssl rand -hex 32`). Errors name the variable, never its value.
#
# Instead of NAME, NAME_FILE may name a file that holds the password (a Docker secret, as
# docker-compose.yml mounts them: no password in the container's environment); its trailing line
# break is dropped. Setting both is an error.
#
# POSIX sh with busybox tools: it runs in redis:7-alpine (as root, before docker-entrypoint.sh
# drops to the redis user) and on any Linux host (tests).
set -eu

fail() {
  echo "render-acl: $*" >&2
  exit 1
}

[ "$#" -ge 2 ] || fail "usage: render-acl.sh TEMPLATE OUTPUT [COMMAND [ARG...]]"
template=$1
output=$2
shift 2
[ -r "$template" ] || fail "cannot read the template $template"

# As root in the container: the server runs as the redis user, and must read the file (and reach
# it, if the directory is new). Anywhere else, files stay with whoever renders them.
give_to_server() {
  if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1; then chown redis:redis "$1"; fi
}

output_dir=$(dirname "$output")
if [ ! -d "$output_dir" ]; then
  mkdir -p "$output_dir"
  give_to_server "$output_dir"
fi
umask 077
work=$(mktemp "$output_dir/.users.acl.XXXXXX")
trap 'rm -f "$work" "$work.next"' EXIT

# Drop comments and blank lines; join each indented line onto the line it continues, with single
# spaces (Redis splits a user line on every single space).
awk '
  /^[ \t]*(#|$)/ { next }
  /^[ \t]/ {
    if (line == "") { printf "render-acl: line %d continues nothing\n", NR > "/dev/stderr"; failed = 1; exit 1 }
    $1 = $1; line = line " " $0; next
  }
  { if (line != "") print line; $1 = $1; line = $0 }
  END { if (!failed && line != "") print line }
' "$template" >"$work" || fail "cannot render $template"

placeholders=$(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$work" | sort -u | sed 's/^\${\(.*\)}$/\1/') || true
for name in $placeholders; do
  # $name matched [A-Za-z_][A-Za-z0-9_]* above: safe to expand by name with eval.
  eval "value=\${$name-}"
  eval "file=\${${name}_FILE-}"
  if [ -n "$file" ]; then
    [ -z "$value" ] || fail "set $name or ${name}_FILE, not both"
    [ -f "$file" ] && [ -r "$file" ] || fail "${name}_FILE: cannot read $file"
    # $(...) drops the trailing line break; a password holds none (checked below).
    value=$(cat "$file") || fail "${name}_FILE: cannot read $file"
    [ -n "$value" ] || fail "${name}_FILE: $file is empty"
  fi
  [ -n "$value" ] || fail "$name is not set"
  [ "${#value}" -ge 16 ] || fail "$name must be at least 16 characters long"
  case $value in
    *[!A-Za-z0-9._~-]*) fail "$name may only contain A-Z a-z 0-9 . _ ~ -" ;;
  esac
  # Through a pipe, not an argument: the password never shows in a process list.
  hash=$(printf '%s' "$value" | sha256sum | cut -d ' ' -f 1)
  sed "s/\${$name}/#$hash/g" "$work" >"$work.next"
  mv "$work.next" "$work"
done

if grep -q '\$' "$work"; then fail "a \$ is left in $template outside a \${NAME} placeholder"; fi
if grep -qv '^user [^ ]' "$work"; then fail "every rule in $template must belong to a user line"; fi

# Readable by the server only.
give_to_server "$work"
chmod 600 "$work"
mv "$work" "$output"
trap - EXIT

if [ "$#" -gt 0 ]; then
  # The server needs none of these: keep them out of its environment (/proc/<pid>/environ).
  # shellcheck disable=SC2086 # one name per word, on purpose
  unset $placeholders REDISCLI_AUTH
  for name in $placeholders; do unset "${name}_FILE"; done
  exec "$@"
fi
