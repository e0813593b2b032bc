#!/bin/sh
# Installs envd-lite for this machine's architecture and libc:  curl -fsSL URL/install.sh | sh
#   ENVD_LITE_BASE_URL     directory holding SHA256SUMS and the archives, as scripts/release writes it
#                          (default: the project's GitHub releases)
#   ENVD_LITE_VERSION      e.g. 0.1.0 (default: the version SHA256SUMS lists)
#   ENVD_LITE_INSTALL_DIR  default /usr/local/bin as root, else ~/.local/bin
#   ENVD_LITE_LIBC         glibc|musl, to override the detection
# Needs sh, curl or wget, sha256sum or shasum, tar with gzip. On any failure it installs nothing, says why in
# one line and exits non-zero.
set -eu

RELEASES=https://github.com/envd-lite/envd-lite/releases

fail() {
  echo "envd-lite install: $*" >&2
  exit 1
}

version=${ENVD_LITE_VERSION:-}
version=${version#v}
if [ -n "${ENVD_LITE_BASE_URL:-}" ]; then
  base=${ENVD_LITE_BASE_URL%/}
elif [ -n "$version" ]; then
  base=$RELEASES/download/v$version
else
  base=$RELEASES/latest/download
fi

case $(uname -m) in
  x86_64 | amd64) arch=amd64 glibc_loader="/lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ;;
  aarch64 | arm64) arch=arm64 glibc_loader="/lib/ld-linux-aarch64.so.1 /lib/aarch64-linux-gnu/ld-linux-aarch64.so.1" ;;
  *) fail "no build for architecture $(uname -m) (there are amd64 and arm64)" ;;
esac

# A glibc system may carry musl beside it, never the reverse: glibc's loader decides.
libc=${ENVD_LITE_LIBC:-}
if [ -z "$libc" ]; then
  for f in $glibc_loader; do [ -e "$f" ] && libc=glibc && break; done
fi
if [ -z "$libc" ]; then
  for f in /lib/ld-musl-*.so.1; do [ -e "$f" ] && libc=musl && break; done
fi
if [ -z "$libc" ] && command -v ldd >/dev/null 2>&1; then
  case $(ldd --version 2>&1 || true) in
    *musl*) libc=musl ;;
    *GLIBC* | *"GNU libc"*) libc=glibc ;;
  esac
fi
case $libc in
  glibc) suffix="" ;;
  musl) suffix=-musl ;;
  "") fail "found neither glibc nor musl here (set ENVD_LITE_LIBC=glibc or musl)" ;;
  *) fail "ENVD_LITE_LIBC=$libc: expected glibc or musl" ;;
esac

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 -o "$2" "$1" 2>/dev/null; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1" 2>/dev/null; }
else
  fail "needs curl or wget to download"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  fail "needs sha256sum or shasum to check the download"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t envd-lite)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || fail "could not download $base/SHA256SUMS"
tail="-linux-$arch$suffix.tar.gz"
if [ -z "$version" ]; then
  # Lines read "HASH  envd-lite-VERSION-linux-ARCH[-musl].tar.gz"; '-musl' must not match a glibc name.
  version=$(sed -n "s/^[0-9a-f]\{64\}  [*]\{0,1\}envd-lite-\([^ ]*\)$(echo "$tail" | sed 's/[.]/[.]/g')\$/\1/p" \
    "$tmp/SHA256SUMS" | grep -v -- '-linux-' | head -n 1)
  [ -n "$version" ] || fail "$base/SHA256SUMS lists no linux-$arch$suffix archive"
fi
name=envd-lite-$version$tail
want=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$want" ] || fail "$base/SHA256SUMS lists no $name"

fetch "$base/$name" "$tmp/$name" || fail "could not download $base/$name"
got=$(sha256 "$tmp/$name")
[ "$got" = "$want" ] || fail "checksum mismatch for $name: SHA256SUMS says $want, the download is $got; nothing installed"

mkdir "$tmp/x"
tar -xzf "$tmp/$name" -C "$tmp/x" || fail "could not unpack $name"
bin=$tmp/x/envd-lite-$version-linux-$arch$suffix/envd-lite
[ -f "$bin" ] || fail "$name holds no envd-lite binary"
if ! "$bin" --version >/dev/null 2>&1; then
  [ "$libc" = musl ] && fail "the musl build does not start here: it needs libstdc++ and libgcc (Alpine: apk add libstdc++)"
  fail "the downloaded binary does not start on this machine"
fi

dir=${ENVD_LITE_INSTALL_DIR:-}
if [ -z "$dir" ]; then
  if [ "$(id -u)" = 0 ]; then dir=/usr/local/bin; else dir=${HOME:?HOME is unset}/.local/bin; fi
fi
mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir"
# Copy beside the target, then rename: a running envd-lite or a half-written file is never seen.
cp "$bin" "$dir/.envd-lite.$$" 2>/dev/null || { rm -f "$dir/.envd-lite.$$"; fail "cannot write to $dir"; }
chmod 755 "$dir/.envd-lite.$$"
mv -f "$dir/.envd-lite.$$" "$dir/envd-lite" || { rm -f "$dir/.envd-lite.$$"; fail "cannot write $dir/envd-lite"; }
echo "installed $("$dir/envd-lite" --version) ($arch, $libc) to $dir/envd-lite"
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on PATH" ;;
esac
