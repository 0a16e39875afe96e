#!/usr/bin/env bash
# Kept for habit: the same as `.ci/node.sh 24` (see there).
exec "$(dirname "$0")/node.sh" 24 "$@"
