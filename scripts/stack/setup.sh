#!/bin/sh
# Idempotent bootstrap for a fresh clone, run before `npm start` and `npm test`:
#   npm dependencies, Redis/NATS/ffmpeg/Chromium binaries (Debian packages), the Java MongoDB-wire server jar,
#   and the TypeScript build. Each step is skipped when its result is already up to date.
# Progress goes to stderr so callers' stdout stays clean.
set -eu

cd "$(dirname "$0")/../.."

say() {
  printf '[setup] %s\n' "$*" >&2
}

# True when any of the files or directories after $1 holds a file newer than $1.
# find -newer rather than test -nt: the latter is not POSIX.
newer_than() {
  target=$1
  shift
  [ -n "$(find "$@" -type f -newer "$target" 2>/dev/null | head -n 1)" ]
}

# Non-login shells and non-root users often lack sbin in PATH; nats-server lives in /usr/sbin.
have_binary() {
  command -v "$1" >/dev/null 2>&1 && return 0
  for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin; do
    [ -x "$dir/$1" ] && return 0
  done
  return 1
}

# Node is certain to exist here; nc or ss may not.
port_open() {
  node -e '
    const socket = require("node:net").connect({ host: "127.0.0.1", port: Number(process.argv[1]) });
    socket.setTimeout(1000);
    socket.on("connect", () => process.exit(0));
    socket.on("error", () => process.exit(1));
    socket.on("timeout", () => process.exit(1));
  ' "$1" 2>/dev/null
}

# --- (a) npm dependencies -----------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || newer_than node_modules/.package-lock.json package-lock.json; then
  say 'installing npm dependencies (npm ci)'
  npm ci --no-audit --no-fund >&2
fi

# --- (b) system packages ------------------------------------------------------------------------
mongo_dir=scripts/stack/mongo-server
mongo_jar=$mongo_dir/target/mongo-server.jar
build_jar=no
if [ ! -f "$mongo_jar" ] || newer_than "$mongo_jar" "$mongo_dir/pom.xml" "$mongo_dir/src"; then
  build_jar=yes
fi

packages=''
# A server already listening (a system service, a container) makes the binary unnecessary.
if ! have_binary redis-server && ! port_open 6379; then
  packages="$packages redis-server"
fi
if ! have_binary nats-server && ! port_open 4222; then
  packages="$packages nats-server"
fi
# Video metadata and thumbnails (the feed degrades to no metadata without them).
if ! have_binary ffprobe || ! have_binary ffmpeg; then
  packages="$packages ffmpeg"
fi
# The browser tests drive Debian's Chromium (playwright-core downloads no browser).
if ! have_binary chromium; then
  packages="$packages chromium"
fi
if [ "$build_jar" = yes ]; then
  have_binary mvn || packages="$packages maven"
  have_binary javac || packages="$packages openjdk-17-jdk-headless"
fi

if [ -n "$packages" ]; then
  if [ "$(id -u)" -eq 0 ] && have_binary apt-get; then
    say "installing Debian packages:$packages"
    # Word splitting of $packages is intended: one argument per package.
    # shellcheck disable=SC2086
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >&2; }; then
      say "apt-get failed; install these packages yourself:$packages"
    fi
  else
    # Not fatal: scripts/stack/services.ts explains what is missing if a run really needs it.
    say "missing packages:$packages (run as root: apt-get install -y$packages)"
  fi
fi

# --- (c) MongoDB-wire server jar ------------------------------------------------------------------
if [ "$build_jar" = yes ]; then
  if have_binary mvn; then
    say "building $mongo_jar"
    mvn -q -B -f "$mongo_dir/pom.xml" package >&2
  else
    say "cannot build $mongo_jar: Maven is missing (apt-get install maven openjdk-17-jdk-headless)"
  fi
fi

# --- (d) TypeScript -----------------------------------------------------------------------------
say 'compiling TypeScript'
npx tsc -p tsconfig.json >&2

say 'ready'
