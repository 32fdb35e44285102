#!/usr/bin/env bash
# The package as README "Running it for real" sets an instance up, in ROOT
# (the .deb unpacked with dpkg -x; check_deb.sh calls this): for each
# installed example config, instance NAME gets /etc/custsync/NAME.yaml, its
# credential files (0600) in /etc/custsync/credentials/NAME/ and, for
# alvys, /etc/custsync/NAME.env. The installed unit's ExecStartPre (check-
# config) then runs as systemd would run it, read from the installed unit:
# every file of the LoadCredential= directory copied to a fresh
# CREDENTIALS_DIRECTORY as ID_FILE (0400), the Environment= settings with
# %i and %H expanded, then the EnvironmentFile=. It must exit 0 with no
# secret in its output; with one credential file missing, exit 78 naming
# it. Paths under /etc/custsync and /usr/bin are ROOT's; there is no
# systemd here, and no custsync user (the command runs as the caller).
# Usage: check_install.sh ROOT
set -euo pipefail
root=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

unit=$root/lib/systemd/system/custsync@.service
setting() { sed -n "s/^$1=//p" "$unit"; }
in_root() {
	sed -e "s#/etc/custsync#$root/etc/custsync#g" \
		-e "s#/usr/bin/custsync#$root/usr/bin/custsync#g"
}
load_credential=$(setting LoadCredential)
cred_id=${load_credential%%:*}
cred_src=$(printf '%s\n' "${load_credential#*:}" | in_root)
environment=$(setting Environment)
env_file=$(setting EnvironmentFile | in_root)
exec_pre=$(setting ExecStartPre | in_root)
for v in load_credential environment env_file exec_pre; do
	[ -n "${!v}" ] || { echo "FAIL: $unit: no setting for $v"; exit 1; }
done
[[ $cred_src == /*%i* ]] ||
	{ echo "FAIL: LoadCredential= source is not per instance: $cred_src"; exit 1; }
[[ $env_file == -* ]] ||
	fail "EnvironmentFile= is not optional (no leading -): $env_file"
env_file=${env_file#-}
host=$(uname -n)

# The unit's ExecStartPre for instance $1, with what systemd would give it.
start_pre() {
	local name=$1 cd=$tmp/credentials/custsync@$1.service f vars=()
	rm -rf "$cd"
	mkdir -p "$cd"
	for f in "${cred_src//%i/$name}"/*; do
		[ -f "$f" ] || continue
		install -m 0400 "$f" "$cd/${cred_id}_$(basename "$f")"
	done
	read -r -a vars <<<"${environment//%i/$name}"
	vars=("${vars[@]//%H/$host}")
	f=${env_file//%i/$name}
	if [ -f "$f" ]; then
		mapfile -t -O ${#vars[@]} vars < <(grep -Ev '^[[:space:]]*(#|$)' "$f")
	fi
	local -a cmd
	read -r -a cmd <<<"${exec_pre//%i/$name}"
	env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY="$cd" "${vars[@]}" \
		"${cmd[@]}" 2>&1
}

etc=$root/etc/custsync
examples=("$root"/usr/share/doc/custsync/examples/*.example.yaml)
[ -f "${examples[0]}" ] || { echo "FAIL: no installed example config"; exit 1; }
for example in "${examples[@]}"; do
	name=$(basename "$example" .example.yaml)
	failed_before=$failed
	failed=0
	creds=${cred_src//%i/$name}
	install -d -m 0700 "$etc" "$creds"
	install -m 0640 "$example" "$etc/$name.yaml"
	# Each credential the example reads, as its file in the instance's
	# directory; the YAML names it as systemd will: ID_FILE.
	secrets=()
	for ref in $(grep -o '\${CREDENTIALS_DIRECTORY}/[A-Za-z0-9_.-]*' \
		"$example" | sort -u); do
		cred=${ref#*\}/}
		file=${cred#"${cred_id}_"}
		if [ "$file" = "$cred" ]; then
			fail "$name: credential $cred is not one the unit loads" \
				"(LoadCredential=$load_credential names ${cred_id}_FILE)"
			continue
		fi
		secret="s3cret-$name-$file-$RANDOM$RANDOM"
		printf '%s\n' "$secret" >"$tmp/secret"
		install -m 0600 "$tmp/secret" "$creds/$file"
		secrets+=("$secret")
	done
	grep -q 'sasl.password_file: ${CREDENTIALS_DIRECTORY}/' "$example" ||
		fail "$name: the Kafka password is not read from a credential"
	[ ${#secrets[@]} -ge 2 ] ||
		fail "$name: reads ${#secrets[@]} credential(s), not the Kafka" \
			"password and the target's secret"
	if [ "$name" = alvys ]; then
		# Not a secret, so an environment variable (README).
		printf '# custsync@%s\nALVYS_CLIENT_ID=custsync-it\n' "$name" \
			>"${env_file//%i/$name}"
	fi

	rc=0
	out=$(start_pre "$name") || rc=$?
	[ "$rc" -eq 0 ] || fail "$name: check-config exited $rc: $out"
	[[ $out == *"configuration OK"* ]] ||
		fail "$name: check-config did not say 'configuration OK': $out"
	[[ $out != *"accessible by group or others"* ]] ||
		fail "$name: a credential looks readable by others: $out"
	for s in "${secrets[@]}"; do
		[[ $out != *"$s"* ]] || fail "$name: a secret is in the output"
	done

	# Without the Kafka password file the instance does not start.
	rm -f "$creds/kafka_password"
	rc=0
	out=$(start_pre "$name") || rc=$?
	[ "$rc" -eq 78 ] ||
		fail "$name: without kafka_password check-config exited $rc: $out"
	[[ $out == *"${cred_id}_kafka_password"* ]] ||
		fail "$name: the error does not name ${cred_id}_kafka_password: $out"
	for s in "${secrets[@]}"; do
		[[ $out != *"$s"* ]] || fail "$name: a secret is in the output"
	done
	[ "$failed" -ne 0 ] || echo "instance $name: check-config OK with" \
		"its credentials, 78 without kafka_password"
	failed=$((failed | failed_before))
done
exit "$failed"
