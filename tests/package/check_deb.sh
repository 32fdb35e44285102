#!/usr/bin/env bash
# package.deb: builds the .deb from a configured, built tree into a scratch
# dir (cpack -G DEB, as the README says), reads its control fields, unpacks
# it with dpkg -x into a scratch root and checks every file it must
# install, and that it installs nothing else; check_install.sh then runs
# check-config on each installed example as the installed unit would, and
# lintian, where it is installed, must report no error (E:) tag.
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
cpack_var() {
	sed -n "s/^set($1 \"\\(.*\\)\")\$/\\1/p" "$build/CPackConfig.cmake"
}
version=$(cpack_var CPACK_PACKAGE_VERSION)
release=$(cpack_var CPACK_DEBIAN_PACKAGE_RELEASE)
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = custsync ] || fail "Package is '$(field Package)'"
[ -n "$version" ] && [ -n "$release" ] &&
	[ "$(field Version)" = "$version-$release" ] ||
	fail "Version is '$(field Version)', the project's is" \
		"'$version' revision '$release'"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture is '$(field Architecture)'"
[[ "$(field Maintainer)" == *@* ]] ||
	fail "Maintainer has no address: '$(field Maintainer)'"
[ "$(field Description | wc -l)" -ge 2 ] ||
	fail "Description lacks a long description"
depends=$(field Depends)
# Every shared library the binary needs comes from a package Depends
# names (a sanitizer build's own runtime aside: such a package is for
# tests only).
for so in $(objdump -p "$build/custsync" | awk '$1 == "NEEDED" {print $2}'); do
	case $so in libasan.so.* | libubsan.so.*) continue ;; esac
	path=$(readlink -f "$(ldconfig -p |
		awk -v so="$so" '$1 == so {print $NF; exit}')")
	lib=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null)
	lib=${lib%%:*}
	[ -n "$lib" ] || { fail "no package holds $so ($path)"; continue; }
	[[ ",$depends," =~ [,\ ]$lib[\ ,\(] ]] ||
		fail "Depends lacks $lib (for $so): $depends"
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
scripts=(postinst prerm postrm)
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" "${scripts[@]/#/./}" ||
	{ echo "FAIL: the control archive lacks one of ${scripts[*]}"; exit 1; }
grep -Eq '^[^#]*systemd-sysusers .*custsync\.conf' "$tmp/postinst" ||
	fail "postinst does not run systemd-sysusers custsync.conf"
for s in "${scripts[@]}"; do
	sh -n "$tmp/$s" || fail "$s is not valid sh"
	# Units start and stop through deb-systemd-invoke (policy-rc.d);
	# daemon-reload is the one systemctl call debhelper makes itself.
	bad=$(grep -En '^[^#]*\bsystemctl\b' "$tmp/$s" |
		grep -v 'systemctl --system daemon-reload' || true)
	[ -z "$bad" ] || fail "$s calls systemctl: $bad"
done

# ---- contents ----
root=$tmp/root
dpkg -x "$deb" "$root"
expected=(usr/bin/custsync
	lib/systemd/system/custsync@.service
	usr/lib/sysusers.d/custsync.conf
	usr/share/doc/custsync/README.md
	usr/share/man/man1/custsync.1.gz
	usr/share/man/man5/custsync.yaml.5.gz
	usr/share/doc/custsync/copyright
	usr/share/doc/custsync/changelog.Debian.gz)
for f in "$src"/config/*.yaml; do
	expected+=("usr/share/doc/custsync/examples/$(basename "$f")")
done
for f in "$src"/schemas/*; do
	expected+=("usr/share/custsync/schemas/$(basename "$f")")
done
for f in "${expected[@]}"; do
	[ -f "$root/$f" ] || fail "not installed: /$f"
done
creds=$root/etc/custsync/credentials
[ -d "$creds" ] && [ "$(stat -c %a "$creds")" = 700 ] ||
	fail "/etc/custsync/credentials is not a directory of mode 0700"
extra=$(cd "$root" && find . -type f -printf '%P\n' | sort |
	comm -23 - <(printf '%s\n' "${expected[@]}" | sort))
[ -z "$extra" ] || fail "installs files nobody asked for: $extra"
# Copies, not look-alikes: each documented file equals its source.
cmp -s "$src/README.md" "$root/usr/share/doc/custsync/README.md" ||
	fail "README.md differs from the source"
for page in man1/custsync.1 man5/custsync.yaml.5; do
	zcat "$root/usr/share/man/$page.gz" 2>/dev/null |
		cmp -s - "$build/man/${page#*/}" ||
		fail "/usr/share/man/$page.gz is not the built page"
done
cmp -s "$src/packaging/copyright" "$root/usr/share/doc/custsync/copyright" ||
	fail "copyright differs from packaging/copyright"
changelog=$root/usr/share/doc/custsync/changelog.Debian.gz
if [ -f "$changelog" ]; then
	top=$(gzip -dc "$changelog" | sed -n '1s/^custsync (\([^)]*\)).*/\1/p')
	[ "$top" = "$(field Version)" ] ||
		fail "changelog's top entry is '$top', the package is" \
			"'$(field Version)'"
fi
cmp -s "$src/systemd/custsync@.service" \
	"$root/lib/systemd/system/custsync@.service" ||
	fail "the unit differs from systemd/custsync@.service"

bin=$root/usr/bin/custsync
if [ -f "$bin" ]; then
	[ -x "$bin" ] || fail "/usr/bin/custsync is not executable"
	out=$("$bin" --version 2>&1) || fail "custsync --version failed: $out"
	# Line 1 is custsync's own; the libraries' follow.
	[ "${out%%$'\n'*}" = "custsync $version" ] ||
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

# ---- an instance, as README "Running it for real" sets one up ----
bash "$src/tests/package/check_install.sh" "$root" ||
	fail "check-config of the installed examples (check_install.sh above)"

# ---- lintian ----
if command -v lintian >/dev/null; then
	# Any error fails; warnings and notes are printed (README, "The
	# package", says which remain and why). Exit 2 is "a tag of the
	# --fail-on level", anything else but 0 is lintian itself failing.
	rc=0
	lintian --no-cfg --fail-on error -i -I -E --pedantic "$deb" \
		>"$tmp/lintian" 2>&1 || rc=$?
	grep -E '^[EWIPX]: ' "$tmp/lintian" || true
	case $rc in
	0) ;;
	2) fail "lintian reports errors (the E: tags above)" ;;
	*) fail "lintian exited $rc: $(cat "$tmp/lintian")" ;;
	esac
else
	echo "skip: lintian is not installed (bash .ci/deps installs it)"
fi

if [ "$failed" -ne 0 ]; then
	echo "--- dpkg-deb -I"; cat "$tmp/info"
	exit 1
fi
echo "package OK: ${#expected[@]} files, control fields, postinst"
