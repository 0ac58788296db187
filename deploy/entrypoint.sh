#!/bin/bash
# Container entry point of the roompulse image: secrets from files, then exec the command.
#
# Docker and Kubernetes hand secrets over as files. The chat-sink settings read
# ROOMPULSE_<SINK>_<FIELD>_FILE themselves, but the Redis URL and password, the Kafka SASL
# password and the console session secret are read from the environment only. So, for every
# ROOMPULSE_<NAME>_FILE that is set and not empty, this exports ROOMPULSE_<NAME> with the
# file's content (trailing whitespace and newlines dropped, as the settings do) and unsets the
# _FILE variable. Setting both ROOMPULSE_<NAME> (not empty) and ROOMPULSE_<NAME>_FILE is an
# error (which one should win would be a guess), and so is a file that cannot be read. Secret
# values are never printed.
#
# Usage: entrypoint.sh COMMAND [ARG...]   (the image runs `entrypoint.sh roompulse worker`)
set -euo pipefail

# Settings whose own value is a path the application opens itself (token lines, keywords): these
# *_FILE variables are real settings, not secret indirections, and are passed through as they are.
PASS_THROUGH=" ROOMPULSE_CONSOLE_OPERATOR_TOKENS_FILE ROOMPULSE_CONSOLE_VIEWER_TOKENS_FILE ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE "

fail() {
  echo "roompulse-entrypoint: $1" >&2
  exit "$2"
}

[[ $# -gt 0 ]] || fail "no command given (expected e.g. roompulse worker)" 64

for file_var in $(compgen -e); do
  [[ "$file_var" == ROOMPULSE_*_FILE ]] || continue
  [[ "$PASS_THROUGH" == *" $file_var "* ]] && continue
  path="${!file_var}"
  [[ -n "$path" ]] || { unset "$file_var"; continue; }
  var="${file_var%_FILE}"
  [[ -z "${!var:-}" ]] || fail "both $var and $file_var are set; set only one" 64
  [[ -f "$path" && -r "$path" ]] || fail "$file_var names $path, which is not a readable file" 66
  value="$(<"$path")"
  value="${value%"${value##*[![:space:]]}"}"
  export "$var=$value"
  unset "$file_var"
done

exec "$@"
