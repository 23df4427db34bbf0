#!/usr/bin/env bash
# Builds the Debian package of cfl from a release build and prints its path (target/debian/cfl_VERSION_ARCH.deb):
#   /usr/bin/cfl, /etc/cfl/gateway.toml (a conffile: examples/gateway.toml adapted for a server),
#   the systemd unit cfl-gateway.service, man pages, and the maintainer scripts in packaging/deb/.
# Usage: scripts/package-deb.sh [--no-build]   (--no-build: package target/release/cfl as it is)
# Needs dpkg-deb and gzip; binutils' objdump (for the libc6 version) when present.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --no-build ]; then
  cargo build --release --locked --quiet -p cfl >&2
fi
bin=target/release/cfl
[ -x "$bin" ] || { echo "package-deb: $bin is missing: run without --no-build" >&2; exit 1; }
version=$("$bin" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
src=packaging/deb

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/cfl_${version}_${arch}"

install -D -m 0755 "$bin" "$root/usr/bin/cfl"
install -D -m 0644 "$src/cfl-gateway.service" "$root/lib/systemd/system/cfl-gateway.service"
install -D -m 0644 examples/gateway.toml "$root/usr/share/doc/cfl/gateway.toml.example"
install -D -m 0644 "$src/copyright" "$root/usr/share/doc/cfl/copyright"

# The server's config is the documented example with server paths, so the two never drift: each
# replacement must find its text, or the build stops and names what moved.
config=$(cat examples/gateway.toml)
adapt() {
  if [[ "$config" != *"$1"* ]]; then
    echo "package-deb: examples/gateway.toml no longer contains: $1 (update $0)" >&2
    exit 1
  fi
  config=${config//"$1"/"$2"}
}
adapt "# cfl serve — the token gateway.   Run: cfl serve --config examples/gateway.toml" \
"# cfl serve — the token gateway, run by the service cfl-gateway (systemctl restart cfl-gateway).
# Check a change first: runuser -u cfl-gateway -- cfl serve --config /etc/cfl/gateway.toml --check-config
# Secrets named here (token_env, encryption_key_env, ...) go in /etc/cfl/gateway.env as NAME=value
# lines (chown root:cfl-gateway, chmod 640); files named here must be readable by group cfl-gateway."
adapt '"sqlite:cfl-gateway.sqlite"' '"sqlite:/var/lib/cfl-gateway/gateway.sqlite"'
adapt 'url = "http://127.0.0.1:8090"' 'url = "https://confluence.example.com"'
adapt '"keys/demo-consumer.key.pem"' '"/etc/cfl/consumer.key.pem"'
adapt '"tls/gateway.crt"' '"/etc/cfl/tls/gateway.crt"'
adapt '"tls/gateway.key"' '"/etc/cfl/tls/gateway.key"'
adapt '`kill -HUP <pid>`' '`systemctl reload cfl-gateway` (SIGHUP)'
install -d -m 0755 "$root/etc/cfl"
printf '%s\n' "$config" >"$root/etc/cfl/gateway.toml"
chmod 0640 "$root/etc/cfl/gateway.toml"

install -d -m 0755 "$root/usr/share/man/man1"
"$bin" man >"$root/usr/share/man/man1/cfl.1"
"$bin" man serve >"$root/usr/share/man/man1/cfl-serve.1"
gzip -9n "$root"/usr/share/man/man1/*.1

libc=libc6
if command -v objdump >/dev/null; then
  glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | cut -d_ -f2)
  [ -n "$glibc" ] && libc="libc6 (>= $glibc)"
fi
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
install -d -m 0755 "$root/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@LIBC@/$libc/" \
  "$src/control.in" >"$root/DEBIAN/control"
install -m 0644 "$src/conffiles" "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$src/$script" "$root/DEBIAN/$script"
done

out=target/debian
mkdir -p "$out"
dpkg-deb --root-owner-group --build "$root" "$out/" >&2
echo "$out/cfl_${version}_${arch}.deb"
