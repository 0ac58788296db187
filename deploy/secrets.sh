#!/bin/bash
# Create the secrets deploy/docker-compose.yml mounts, with random values, in deploy/secrets/
# (or DIR). Existing files are kept, so running it again changes nothing. The directory is
# private (0700) and ignores itself in git; the files are 0644 because the containers read them
# as other users (redis: 999, roompulse: 10001) through bind mounts.
# Usage: deploy/secrets.sh [DIR]
set -euo pipefail
dir="${1:-"$(cd "$(dirname "$0")" && pwd)/secrets"}"
mkdir -p "$dir"
chmod 0700 "$dir"
[[ -f "$dir/.gitignore" ]] || printf '*\n' > "$dir/.gitignore"

random() {  # 32 hex characters from the kernel's CSPRNG, no openssl needed
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

make() {  # make NAME CONTENT: write the file only if it does not exist yet
  if [[ -f "$dir/$1" ]]; then
    echo "kept    $dir/$1"
  else
    (umask 022 && printf '%s\n' "$2" > "$dir/$1")
    echo "created $dir/$1"
  fi
}

make redis_password "$(random)"
make console_session_secret "$(random)"
make console_operators "admin:$(random)"   # name:token lines; log in to /console/ with the token
echo "console log-in token: see $dir/console_operators (after 'admin:')"
