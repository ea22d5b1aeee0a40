#!/usr/bin/env bash
# Functions tally's C does not use (see STYLE.md): unbounded copies and
# conversions without error reporting. Lengths travel with pointers instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -nP '(?<![A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(' \
     $(find src tools bench tests -name '*.[ch]'); then
  echo "banned.sh: use snprintf, memcpy with lengths, strtol instead of the calls above" >&2
  exit 1
fi
