#!/usr/bin/env bash
# Fetches MySQL 9.7 (Debian sid's mysql-server-core / mysql-client-core) into a
# cache directory and prints the path of a mysqld wrapper, for the sandbox's
# MySQL flavor (the tests find it through DBSHIFT_MYSQLD).
#
# sid's packages cannot be installed on Debian 12 (they need a newer glibc and
# libstdc++), but they run unpacked: everything here goes through a private
# apt state (its own sources.list, lists, cache, status and config, via
# APT_CONFIG), `apt-get download` and `dpkg-deb -x`, then wrappers start the
# binaries through sid's own ld-linux with --library-path. /etc/apt and the
# system's apt state are never read for packages nor written.
#
# Usage: scripts/mysql-from-debian.sh [--refresh] [--for-tests] [CACHE_DIR]
#   CACHE_DIR defaults to $DBSHIFT_MYSQL_CACHE or ~/.cache/dbshift/mysql-9.7.
#   A complete cache is reused as is (idempotent, no network); --refresh
#   fetches again. The dependency closure is computed from sid's current
#   package lists at every fetch, because sid renames library packages.
#   --for-tests is for `make test`: a runnable $DBSHIFT_MYSQLD is kept, and a
#   failure prints a loud line and nothing on stdout, exit 0, so the MySQL
#   tests skip (under CI they fail instead: sandboxtest.RequireMySQL).
# Exit status: 0 and the wrapper's path on stdout; non-zero with the reason on
# stderr when it cannot (no network, no such package, a binary that will not run).
set -euo pipefail

refresh=0
for_tests=0
while [ $# -gt 0 ]; do
  case $1 in
  --refresh) refresh=1 ;;
  --for-tests) for_tests=1 ;;
  -*) echo "mysql-from-debian: unknown option $1" >&2; exit 2 ;;
  *) break ;;
  esac
  shift
done
if [ "$for_tests" = 1 ]; then
  if [ -n "${DBSHIFT_MYSQLD:-}" ] && "$DBSHIFT_MYSQLD" --version >/dev/null 2>&1; then
    echo "$DBSHIFT_MYSQLD"
    exit 0
  fi
  args=()
  [ "$refresh" = 1 ] && args+=(--refresh)
  if ! "$0" "${args[@]}" "$@"; then
    echo "" >&2
    echo "*** dbshift: MySQL 9.7 could not be fetched (reason above): the MySQL tests will SKIP (and fail under CI) ***" >&2
    echo "" >&2
  fi
  exit 0
fi
cache=${1:-${DBSHIFT_MYSQL_CACHE:-$HOME/.cache/dbshift/mysql-9.7}}
roots=(mysql-server-core mysql-client-core)
say() { echo "mysql-from-debian: $*" >&2; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
wrapper=$cache/bin/mysqld

# A finished fetch leaves a stamp; a wrapper that answers --version is enough
# to reuse it.
if [ "$refresh" = 0 ] && [ -f "$cache/complete" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi

# The same Debian archive this machine's apt uses (a mirror or a snapshot
# proxy where the machine has one), suite sid, component main.
archive=""
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -r "$f" ] || continue
  archive=$(grep -hoE '(https?|file)://[^ ]*/debian/?( |$)' "$f" 2>/dev/null | grep -v -- '-security' | head -n1 | tr -d ' ' || true)
  [ -n "$archive" ] && break
done
archive=${archive:-http://deb.debian.org/debian}
archive=${archive%/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt=$cache/apt
rm -rf "$apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/apt.conf.d" \
  "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/debs"
: >"$apt/status"
echo "deb [signed-by=$keyring] $archive sid main" >"$apt/etc/sources.list"
# Every directory apt would otherwise take from /etc/apt or /var/lib/apt.
# Dir::Etc::Parts keeps the system's apt.conf.d out (its update hooks and
# extra index targets); only the settings about reaching the archive carry
# over: proxies, and the date checks a snapshot archive turns off.
cat >"$apt/apt.conf" <<EOF
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Dir::Etc "$apt/etc";
Dir::Etc::SourceList "$apt/etc/sources.list";
Dir::Etc::SourceParts "$apt/etc/sources.list.d";
Dir::Etc::Parts "$apt/etc/apt.conf.d";
Dir::Etc::Preferences "$apt/etc/preferences";
Dir::Etc::PreferencesParts "$apt/etc/preferences.d";
Dir::Log "$apt";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Debug::NoLocking "true";
Acquire::Languages "none";
EOF
apt-config dump 2>/dev/null |
  grep -E '^Acquire::(Check-Valid-Until|Check-Date|Retries|https?::(Proxy|proxy|Timeout))' >>"$apt/apt.conf" || true
export APT_CONFIG=$apt/apt.conf

start=$(date +%s)
say "fetching sid's package lists from $archive"
if ! apt-get -qq update >"$apt/update.log" 2>&1 || grep -qE '^(E|W): ' "$apt/update.log"; then
  say "apt-get update failed (no network, or the archive is unreachable):"
  sed 's/^/  /' "$apt/update.log" >&2
  exit 1
fi

# The dependency closure, without perl: mysqld's perl dependency is for
# helper scripts the sandbox does not run. One `apt-cache depends --recurse`
# gives the graph; the walk below prunes it at perl so nothing reached only
# through perl comes along. Virtual packages take their providers.
graph=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${roots[@]}")
mapfile -t pkgs < <(awk -v roots="${roots[*]}" '
  function excluded(p) { return p ~ /^(perl|perl-base|perl-modules-.*|libperl.*)$/ }
  /^[^ <]/ { cur = $1; next }
  /^ *\|?(Pre)?Depends: / {
    dep = $2
    if (dep ~ /^</) { virt = 1; next }
    virt = 0; edges[cur] = edges[cur] " " dep; next
  }
  /^    [^ ]/ { if (virt) edges[cur] = edges[cur] " " $1; next }
  END {
    n = split(roots, queue, " ")
    for (i = 1; i <= n; i++) seen[queue[i]] = 1
    for (i = 1; i <= n; i++) {
      m = split(edges[queue[i]], d, " ")
      for (j = 1; j <= m; j++)
        if (!(d[j] in seen) && !excluded(d[j])) { seen[d[j]] = 1; queue[++n] = d[j] }
    }
    for (i = 1; i <= n; i++) print queue[i]
  }' <<<"$graph")
for r in "${roots[@]}"; do
  apt-cache show "$r" >/dev/null 2>&1 || { say "sid has no package $r"; exit 1; }
done
say "downloading ${#pkgs[@]} packages: ${pkgs[*]}"
if ! (cd "$apt/debs" && apt-get -qq download "${pkgs[@]}" >"$apt/download.log" 2>&1); then
  say "apt-get download failed:"
  sed 's/^/  /' "$apt/download.log" >&2
  exit 1
fi
fetched=$(date +%s)

# Unpack beside the old tree and swap, so a failed run leaves the previous
# cache usable.
rm -rf "$cache/root.new"
mkdir -p "$cache/root.new"
for d in "$apt"/debs/*.deb; do
  dpkg-deb -x "$d" "$cache/root.new"
done
rm -rf "$cache/root.old"
[ -d "$cache/root" ] && mv "$cache/root" "$cache/root.old"
mv "$cache/root.new" "$cache/root"
rm -rf "$cache/root.old"
root=$cache/root
[ -x "$root/usr/sbin/mysqld" ] || { say "no usr/sbin/mysqld in the unpacked packages"; exit 1; }

# Wrappers: sid's loader and sid's libraries, never the system's. mysqld
# wants --defaults-file/--no-defaults first, so the wrapper's own options
# (sid's share directory, not /usr/share/mysql, which may be MariaDB's) go
# after such a first argument.
mkdir -p "$cache/bin"
write_wrapper() { # name binary default-options...
  local name=$1 bin=$2
  shift 2
  cat >"$cache/bin/$name.new" <<EOF
#!/bin/sh
# Written by scripts/mysql-from-debian.sh: runs sid's $name unpacked in $root.
root='$root'
lib="\$root/usr/lib/x86_64-linux-gnu:\$root/lib/x86_64-linux-gnu"
first=
case "\${1:-}" in --defaults-file=*|--defaults-extra-file=*|--no-defaults) first=\$1; shift ;; esac
exec "\$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "\$lib" --argv0 "\$root/$bin" "\$root/$bin" \${first:+"\$first"} $* "\$@"
EOF
  chmod 755 "$cache/bin/$name.new"
  mv "$cache/bin/$name.new" "$cache/bin/$name"
}
write_wrapper mysqld usr/sbin/mysqld \
  '--basedir="$root/usr"' '--lc-messages-dir="$root/usr/share/mysql"' \
  '--character-sets-dir="$root/usr/share/mysql/charsets"' '--plugin-dir="$root/usr/lib/mysql/plugin"'
write_wrapper mysql usr/bin/mysql '--character-sets-dir="$root/usr/share/mysql/charsets"'

if ! version=$("$wrapper" --version 2>&1); then
  say "the unpacked mysqld does not run: $version"
  exit 1
fi
du=$(du -sm "$root" | cut -f1)
dl=$(du -sm "$apt/debs" | cut -f1)
rm -rf "$apt/debs" "$apt/cache"
date -u +%FT%TZ >"$cache/complete"
say "$version"
say "downloaded ${dl} MB in $((fetched - start)) s, unpacked ${du} MB in $(($(date +%s) - fetched)) s"
echo "$wrapper"
