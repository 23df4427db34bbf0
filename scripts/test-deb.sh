#!/usr/bin/env bash
# Tests the Debian package on this machine, as root (CI is a fresh Debian machine):
#   build it (scripts/package-deb.sh), `dpkg -i`, check what it installed, `systemd-analyze verify`
#   the unit, then run the unit's own ExecStartPre and ExecStart command lines as the unit's user
#   with the unit's restrictions that work without systemd (no new privileges, no capabilities)
#   against `cfl sim` on free loopback ports until /readyz answers 200, reload it (SIGHUP), stop
#   it, install it again (an upgrade keeps the config edits, store and user), and `dpkg --purge`:
#   files, user and state must be gone.
# Usage: sudo scripts/test-deb.sh [--no-build]   (--no-build: package target/release/cfl as it is)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "test-deb: $*"; }
fail() {
  echo "test-deb: FAILED: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root (it installs and purges the package): sudo $0"
if dpkg-query -W -f='${Status}' cfl 2>/dev/null | grep -q 'install ok'; then
  fail "the package cfl is installed already; this test installs and purges it: dpkg --purge cfl first"
fi

# The package's one dependency beyond libc (present on most Debian systems, not all images).
if ! dpkg-query -W -f='${Status}' adduser 2>/dev/null | grep -q 'install ok'; then
  apt-get install -y -q --no-install-recommends adduser >/dev/null
fi

unit=/lib/systemd/system/cfl-gateway.service
work=$(mktemp -d)
pids=()
installed=
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if [ -n "$installed" ] && dpkg-query -W cfl >/dev/null 2>&1; then
    rm -f /etc/cfl/consumer.key.pem
    dpkg --purge cfl >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

deb=$(bash scripts/package-deb.sh "$@")
say "built $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\): /  \1: /p'

installed=1
dpkg -i "$deb" >/dev/null
say "installed"

# What the package put where, and the service's user.
for f in /usr/bin/cfl "$unit" /etc/cfl/gateway.toml /usr/share/man/man1/cfl-serve.1.gz \
  /usr/share/doc/cfl/copyright /usr/share/doc/cfl/gateway.toml.example; do
  [ -e "$f" ] || fail "$f is not installed"
done
dpkg-query -W -f='${Conffiles}\n' cfl | grep -q '^ /etc/cfl/gateway.toml ' ||
  fail "/etc/cfl/gateway.toml is not a conffile"
user=$(sed -n 's/^User=//p' "$unit")
group=$(sed -n 's/^Group=//p' "$unit")
getent passwd "$user" >/dev/null || fail "postinst did not create the user $user"
case "$(getent passwd "$user" | cut -d: -f7)" in
  */nologin | */false) ;;
  *) fail "the user $user has a login shell" ;;
esac
[ "$(stat -c '%U:%G %a' /etc/cfl/gateway.toml)" = "root:$group 640" ] ||
  fail "/etc/cfl/gateway.toml is $(stat -c '%U:%G %a' /etc/cfl/gateway.toml), want root:$group 640"
grep -q '^store = "sqlite:/var/lib/cfl-gateway/' /etc/cfl/gateway.toml ||
  fail "the packaged config does not keep its store under /var/lib/cfl-gateway"
say "files, conffile and user $user in place"

if command -v systemd-analyze >/dev/null; then
  man=yes
  command -v man >/dev/null || man=no
  systemd-analyze verify --man="$man" "$unit" || fail "systemd-analyze verify $unit"
  say "systemd-analyze verify: clean"
  if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
    score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    say "systemd-analyze security: exposure $score (0 = fully sandboxed, 10 = none)"
    awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.5) }' ||
      fail "the unit's exposure level is ${score:-unknown}, expected at most 2.5"
  fi
else
  say "systemd-analyze is not installed: unit not verified"
fi

# The unit's command lines, as systemd would run them (no quoting in them to undo).
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
exec_check=$(sed -n 's/^ExecStartPre=//p' "$unit")
state=/var/lib/$(sed -n 's/^StateDirectory=//p' "$unit")
[ -n "$exec_start" ] && [ -n "$exec_check" ] || fail "no ExecStart/ExecStartPre in $unit"
[[ "$exec_check" == *--check-config* ]] || fail "ExecStartPre does not check the config: $exec_check"

# As the unit's user, with no privileges to gain and no capabilities, in a clean environment
# like the one systemd gives (plus the test's overrides).
# Run it in a subshell, `(as_unit ...)`: it becomes the command (exec), so $! is the gateway.
as_unit() {
  cd "$state"
  exec setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- \
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}

# systemd makes the StateDirectory at start; postinst makes it too, for runs without systemd.
[ "$(stat -c '%U:%G %a' "$state")" = "$user:$group 750" ] ||
  fail "$state is $(stat -c '%U:%G %a' "$state" 2>/dev/null || echo missing), want $user:$group 750"

# Out of the box the check refuses (no consumer key yet), naming the file and the fix.
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
if out=$( (as_unit $exec_check) 2>&1); then fail "--check-config passed without a consumer key"; fi
grep -q '/etc/cfl/consumer.key.pem: no such file' <<<"$out" ||
  fail "--check-config did not name the missing key: $out"
say "check-config on the packaged config names what is missing"
# The unit grants no capabilities: a port below 1024 is named before the start, with the fix.
if [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)" -gt 443 ]; then
  # shellcheck disable=SC2086
  out=$( (as_unit CFL_LISTEN=0.0.0.0:443 $exec_check) 2>&1) || true
  grep -q 'listen 0.0.0.0:443: ports below .* need the capability CAP_NET_BIND_SERVICE' <<<"$out" ||
    fail "--check-config as $user did not name the privileged port: $out"
  say "check-config as $user names a port below 1024 it could not bind"
fi

# The simulator on a free port; its start-up line says where.
/usr/bin/cfl sim --config examples/sim-dc.toml >"$work/sim.out" 2>"$work/sim.err" &
pids+=($!)
for _ in $(seq 100); do
  grep -q base_url "$work/sim.out" 2>/dev/null && break
  sleep 0.1
done
sim_url=$(sed -n 's/.*"base_url":"\([^"]*\)".*/\1/p' "$work/sim.out")
[ -n "$sim_url" ] || fail "cfl sim did not start: $(cat "$work/sim.err")"

# What an admin does: the application link's private key, readable by the service's group.
install -m 0640 -o root -g "$group" examples/keys/demo-consumer.key.pem /etc/cfl/consumer.key.pem
overrides=(CFL_UPSTREAM_URL="$sim_url" CFL_LISTEN=127.0.0.1:0 CFL_LOG=info)

# shellcheck disable=SC2086
(as_unit "${overrides[@]}" $exec_check) || fail "ExecStartPre refused the configured gateway"
# shellcheck disable=SC2086
(as_unit "${overrides[@]}" $exec_start) >"$work/gw.out" 2>"$work/gw.err" &
gw=$!
pids+=("$gw")
for _ in $(seq 150); do
  grep -q base_url "$work/gw.out" 2>/dev/null && break
  kill -0 "$gw" 2>/dev/null || fail "the gateway exited: $(cat "$work/gw.err")"
  sleep 0.1
done
gw_url=$(sed -n 's/.*"base_url":"\([^"]*\)".*/\1/p' "$work/gw.out")
[ -n "$gw_url" ] || fail "the gateway printed no start-up line: $(cat "$work/gw.err")"
port=${gw_url##*:}

# GET PATH over bash's /dev/tcp, with extra header lines: the status code (no curl on a fresh
# machine).
get_status() {
  local status
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n' "$1" "${2:-}" >&3
  read -r _ status _ <&3 || true
  exec 3<&-
  echo "${status:-none}"
}
readyz() { get_status /readyz; }
ready=
for _ in $(seq 100); do
  ready=$(readyz 2>/dev/null || echo none)
  [ "$ready" = 200 ] && break
  sleep 0.1
done
[ "$ready" = 200 ] || fail "/readyz answered $ready: $(cat "$work/gw.err")"
[ "$(ps -o user= -p "$gw")" = "$user" ] || fail "the gateway runs as $(ps -o user= -p "$gw"), not $user"
[ "$(stat -c %U "$state/gateway.sqlite")" = "$user" ] || fail "the store is not in $state, owned by $user"
say "the unit's ExecStart serves as $user at $gw_url: /readyz 200, store in $state"

# The first admin token is in a new file beside the store, only the user's, and not in the
# output (the journal under systemd): that holds only the file's path.
[ "$(stat -c '%U %a' "$state/admin-token" 2>/dev/null)" = "$user 600" ] ||
  fail "$state/admin-token is $(stat -c '%U %a' "$state/admin-token" 2>/dev/null || echo missing), want $user 600"
admin_token=$(cat "$state/admin-token")
if grep -qF "$admin_token" "$work/gw.out" "$work/gw.err"; then fail "the admin token is in the gateway's output"; fi
grep -qF "$state/admin-token" "$work/gw.err" || fail "the output does not say where the admin token is: $(cat "$work/gw.err")"
[ "$(get_status /admin/v1/tokens "Authorization: Bearer $admin_token"$'\r\n')" = 200 ] ||
  fail "the admin token from $state/admin-token is refused"
say "the first admin token is in $state/admin-token (mode 600), not in the output"

# ExecReload sends SIGHUP: the gateway goes on serving.
kill -HUP "$gw"
sleep 0.5
kill -0 "$gw" 2>/dev/null || fail "the gateway ended on SIGHUP (systemctl reload): $(cat "$work/gw.err")"
[ "$(readyz)" = 200 ] || fail "/readyz after SIGHUP"
say "reload (SIGHUP) keeps it serving"

kill -TERM "$gw"
wait "$gw" || fail "the gateway did not stop cleanly on SIGTERM"

# An upgrade (here: the same package again) keeps the admin's config edits, the store and the user.
echo "# edited by the admin" >>/etc/cfl/gateway.toml
uid=$(id -u "$user")
dpkg -i "$deb" >/dev/null
grep -q '^# edited by the admin$' /etc/cfl/gateway.toml || fail "an upgrade replaced the edited config"
[ -f "$state/gateway.sqlite" ] || fail "an upgrade lost the store"
[ "$(id -u "$user")" = "$uid" ] || fail "an upgrade changed the user"
[ "$(stat -c '%U:%G %a' /etc/cfl/gateway.toml)" = "root:$group 640" ] || fail "an upgrade changed the config's mode"
say "upgrade keeps the edited config, the store and the user"

rm -f /etc/cfl/consumer.key.pem # the admin's own file, which purge leaves alone

dpkg --purge cfl >/dev/null
installed=
for f in /usr/bin/cfl "$unit" /etc/cfl "$state" /usr/share/doc/cfl /usr/share/man/man1/cfl-serve.1.gz; do
  [ ! -e "$f" ] || fail "$f is still there after dpkg --purge"
done
! getent passwd "$user" >/dev/null || fail "the user $user is still there after dpkg --purge"
! getent group "$group" >/dev/null || fail "the group $group is still there after dpkg --purge"
say "purged: files, state, user and group gone"
say "OK"
