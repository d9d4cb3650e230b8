# lib-forge.sh - helpers for tests that forge ledger entries with git plumbing.
# Sourced after test-lib.sh.

# Write the commit text on stdin to R signed by KEYFILE, as git and dmlctl
# sign (a gpgsig header after the committer line); print the new commit ID.
sign_commit() {
	_w=$TRASH_DIRECTORY/.commit &&
	cat >"$_w" &&
	ssh-keygen -q -Y sign -n git -f "$2" <"$_w" >"$_w.sig" &&
	awk 'NR == FNR { sig[n++] = $0; next }
		{ print }
		/^committer / && !done {
			printf "gpgsig %s\n", sig[0]
			for (i = 1; i < n; i++)
				printf " %s\n", sig[i]
			done = 1
		}' "$_w.sig" "$_w" >"$_w.signed" &&
	git -C "$1" hash-object -t commit -w --stdin <"$_w.signed"
}
