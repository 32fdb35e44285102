#!/usr/bin/env bash
# package.deb: builds the .deb from a configured, built tree into a scratch
# dir (cpack -G DEB, as the README says), reads its control fields, unpacks
# it with dpkg -x into a scratch root and checks every file it must
# install, and that it installs nothing else.
# Usage: check_deb.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# cpack first makes the tree's "preinstall" target: on the built tree
# ctest runs on, an up-to-date check. It stages and writes only under -B.
if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/out" \
	>"$tmp/cpack.log" 2>&1; then
	cat "$tmp/cpack.log"
	exit 1
fi
shopt -s nullglob
debs=("$tmp"/out/custsync_*.deb)
if [ ${#debs[@]} -ne 1 ]; then
	echo "expected one custsync_*.deb, got: ${debs[*]:-none}"
	cat "$tmp/cpack.log"
	exit 1
fi
deb=${debs[0]}
echo "built $(basename "$deb")"

# ---- control fields ----
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' \
	"$build/CPackConfig.cmake")
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = custsync ] || fail "Package is '$(field Package)'"
[ -n "$version" ] && [ "$(field Version)" = "$version" ] ||
	fail "Version is '$(field Version)', the project's is '$version'"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture is '$(field Architecture)'"
[[ "$(field Maintainer)" == *@* ]] ||
	fail "Maintainer has no address: '$(field Maintainer)'"
[ "$(field Description | wc -l)" -ge 2 ] ||
	fail "Description lacks a long description"
depends=$(field Depends)
for lib in librdkafka1 libcurl4 libcjson1 libyaml-0-2 libsystemd0 \
	libmicrohttpd12 libavro23; do
	[[ ",$depends," =~ [,\ ]$lib[\ ,\(] ]] ||
		fail "Depends lacks $lib: $depends"
done
# Each dependency must name a package this Debian knows.
for pkg in $(echo "$depends" | tr ',' '\n' | sed 's/(.*)//; s/ //g'); do
	apt-cache show "$pkg" >/dev/null 2>&1 ||
		dpkg-query -W "$pkg" >/dev/null 2>&1 ||
		fail "Depends names an unknown package: $pkg"
done
dpkg-deb -I "$deb" >"$tmp/info"
grep -Eq '^ +[0-9]+ bytes, +[0-9]+ lines +\* +postinst ' "$tmp/info" ||
	fail "no executable postinst: $(cat "$tmp/info")"
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" ./postinst ./prerm ||
	{ echo "FAIL: the control archive lacks postinst or prerm"; exit 1; }
grep -Eq '^[^#]*systemd-sysusers .*custsync\.conf' "$tmp/postinst" ||
	fail "postinst does not run systemd-sysusers custsync.conf"
sh -n "$tmp/postinst" || fail "postinst is not valid sh"
sh -n "$tmp/prerm" || fail "prerm is not valid sh"

# ---- contents ----
root=$tmp/root
dpkg -x "$deb" "$root"
expected=(usr/bin/custsync
	lib/systemd/system/custsync@.service
	usr/lib/sysusers.d/custsync.conf
	usr/share/doc/custsync/README.md)
for f in "$src"/config/*.yaml; do
	expected+=("usr/share/doc/custsync/examples/$(basename "$f")")
done
for f in "$src"/schemas/*; do
	expected+=("usr/share/custsync/schemas/$(basename "$f")")
done
for f in "${expected[@]}"; do
	[ -f "$root/$f" ] || fail "not installed: /$f"
done
extra=$(cd "$root" && find . -type f -printf '%P\n' | sort |
	comm -23 - <(printf '%s\n' "${expected[@]}" | sort))
[ -z "$extra" ] || fail "installs files nobody asked for: $extra"
# Copies, not look-alikes: each documented file equals its source.
cmp -s "$src/README.md" "$root/usr/share/doc/custsync/README.md" ||
	fail "README.md differs from the source"
cmp -s "$src/systemd/custsync@.service" \
	"$root/lib/systemd/system/custsync@.service" ||
	fail "the unit differs from systemd/custsync@.service"

bin=$root/usr/bin/custsync
if [ -f "$bin" ]; then
	[ -x "$bin" ] || fail "/usr/bin/custsync is not executable"
	out=$("$bin" --version 2>&1) || fail "custsync --version failed: $out"
	[ "$out" = "custsync $version" ] ||
		fail "custsync --version printed '$out'"
fi

unit=$root/lib/systemd/system/custsync@.service
if [ -f "$unit" ] && [ -x "$bin" ]; then
	if command -v systemd-analyze >/dev/null; then
		# verify checks that ExecStart= exists: point it at the
		# unpacked binary.
		sed "s#/usr/bin/custsync#$bin#g" "$unit" \
			>"$tmp/custsync@pkg.service"
		out=$(systemd-analyze verify "$tmp/custsync@pkg.service" \
			2>&1) || fail "systemd-analyze verify: $out"
		[ -z "$out" ] || fail "systemd-analyze verify complained: $out"
	else
		echo "skip: systemd-analyze is not installed" \
			"(tests/systemd/verify.sh covers the unit where it is)"
	fi
fi

sysusers=$root/usr/lib/sysusers.d/custsync.conf
if [ -f "$sysusers" ]; then
	grep -Eq '^u[[:space:]]+custsync[[:space:]]' "$sysusers" ||
		fail "sysusers.d entry does not create the custsync user"
	if command -v systemd-sysusers >/dev/null; then
		# The package's postinst, on the unpacked root (DPKG_ROOT
		# keeps it there): systemd-sysusers must find the entry by
		# name and create the user and group the unit runs as.
		mkdir -p "$root/etc"
		out=$(DPKG_ROOT=$root sh "$tmp/postinst" configure 2>&1) ||
			fail "postinst configure: $out"
		grep -q '^custsync:' "$root/etc/passwd" 2>/dev/null ||
			fail "systemd-sysusers made no custsync user"
		grep -q '^custsync:' "$root/etc/group" 2>/dev/null ||
			fail "systemd-sysusers made no custsync group"
	else
		echo "skip: no systemd-sysusers, so postinst was not run" \
			"(its fallback, useradd, would change this machine)"
	fi
fi

if [ "$failed" -ne 0 ]; then
	echo "--- dpkg-deb -I"; cat "$tmp/info"
	exit 1
fi
echo "package OK: ${#expected[@]} files, control fields, postinst"
