#!/bin/bash
# Build laned_VERSION_ARCH.deb with dpkg-deb: binary (PIE, hardened cgo
# flags, stripped), units, udev rule, sysusers/tmpfiles, example config,
# models verified against the manifest, maintainer scripts. Depends comes
# from dpkg-shlibdeps on the binary (OpenCV, oneDNN).
#
# usage: packaging/debian/build.sh VERSION MODEL_DIR OUT_DIR
set -euo pipefail

version=$1 model_dir=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "deb: building laned $version for $arch"
export CGO_CFLAGS="-O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2"
export CGO_CXXFLAGS="$CGO_CFLAGS"
export CGO_LDFLAGS="-Wl,-z,relro -Wl,-z,now"
( cd "$top" && go build -trimpath -buildmode=pie -ldflags "-s -w -X main.version=$version" -o "$work/laned" ./cmd/laned )

objcopy --remove-section=.comment "$work/laned"

echo "deb: verifying models in $model_dir"
"$work/laned" models verify --dir "$model_dir"

install -D -m 0755 "$work/laned" "$root/usr/bin/laned"
install -D -m 0644 "$top/systemd/laned.service" "$root/lib/systemd/system/laned.service"
install -D -m 0644 "$top/systemd/laned-console@.service" "$root/lib/systemd/system/laned-console@.service"
install -D -m 0644 "$top/systemd/60-laned-gpio.rules" "$root/lib/udev/rules.d/60-laned-gpio.rules"
install -D -m 0644 "$top/systemd/laned.sysusers" "$root/usr/lib/sysusers.d/laned.conf"
install -D -m 0644 "$top/systemd/laned.tmpfiles" "$root/usr/lib/tmpfiles.d/laned.conf"

# The example configuration: the binary's own fully commented default when
# it has 'config example', else the fallback kept here.
if "$work/laned" config example >"$work/laned.yaml" 2>/dev/null && [ -s "$work/laned.yaml" ]; then
	echo "deb: example config from 'laned config example'"
else
	cp "$here/laned.yaml" "$work/laned.yaml"
fi
install -D -m 0644 "$work/laned.yaml" "$root/etc/laned/laned.yaml"
install -d -m 0755 "$root/usr/share/doc/laned/examples"
install -m 0644 "$work/laned.yaml" "$root/usr/share/doc/laned/examples/laned.yaml"

# Models: read-only under /usr/share; /var/lib/laned/models (where laned
# looks by default) links there, so systemd's StateDirectory ownership
# fix-up never touches them.
( cd "$model_dir" && find . -type f \( -name '*.onnx' -o -name '*.sha256' -o -name '*.bin' -o -name '*.json' -o -name '*.jpg' \) -print0 ) |
	while IFS= read -r -d '' f; do install -D -m 0644 "$model_dir/$f" "$root/usr/share/laned/models/$f"; done
install -d -m 0755 "$root/var/lib/laned"
ln -s /usr/share/laned/models "$root/var/lib/laned/models"
"$work/laned" models verify --dir "$root/usr/share/laned/models" >/dev/null

doc=$root/usr/share/doc/laned
install -m 0644 "$here/copyright" "$doc/copyright"
printf 'laned (%s) unstable; urgency=medium\n\n  * Built from the laned repository.\n\n -- laned developers <laned@example.org>  %s\n' \
	"$version" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}")" |
	gzip -9n >"$doc/changelog.gz"
if [ -f "$top/docs/technician-guide.md" ]; then
	gzip -9n <"$top/docs/technician-guide.md" >"$doc/technician-guide.md.gz"
	chmod 0644 "$doc/technician-guide.md.gz"
fi
chmod 0644 "$doc/changelog.gz"

# A manual page from the command list.
{
	printf '.TH LANED 1 "%s" "laned %s" "laned"\n' "$(date -u +%Y-%m-%d -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" "$version"
	printf '.SH NAME\nlaned \\- border-exit vehicle lane daemon and its tools\n'
	printf '.SH SYNOPSIS\n.B laned\n.I COMMAND\n[flags] [args]\n'
	printf '.SH DESCRIPTION\nOne binary for the booth (daemon, technician console, checks) and the central office.\n'
	printf 'Run \\fBlaned COMMAND \\-h\\fR for a command'"'"'s flags. See /usr/share/doc/laned/technician-guide.md.gz.\n'
	printf '.SH COMMANDS\n'
	"$work/laned" help | sed -n 's/^  \([a-z][a-z -]*[a-z]\)  *\(.*\)$/.TP\n.B \1\n\2/p' | sed 's/\\/\\\\/g; s/^-/\\-/'
	printf '.SH FILES\n/etc/laned/laned.yaml, /etc/laned/credentials/, /etc/laned/console-users, /var/lib/laned, /run/laned/console.sock\n'
} | gzip -9n >"$work/laned.1.gz"
install -D -m 0644 "$work/laned.1.gz" "$root/usr/share/man/man1/laned.1.gz"

# Control files.
install -d -m 0755 "$root/DEBIAN"
mkdir -p "$work/src/debian"
printf 'Source: laned\n\nPackage: laned\nArchitecture: any\n' >"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/laned" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s|@DEPENDS@|$depends|" \
	"$here/control.in" >"$root/DEBIAN/control"
echo /etc/laned/laned.yaml >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done
( cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's| \./| |' ) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"

mkdir -p "$out"
deb="$out/laned_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "deb: $deb ($(du -h "$deb" | cut -f1))"
