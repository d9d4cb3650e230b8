# durable-order.awk: read the output of
#     strace -f -e trace=openat,fsync,fdatasync,?rename,?renameat,renameat2,?link,linkat,?mkdir,mkdirat \
#         -o FILE dmlctl ...
# (test-lib.sh's trace_writes)
# and fail (exit 1, saying what) when a pack, a loose object or the ledger
# ref gets its final name before its bytes were flushed to disk, or when the
# ledger ref moves before the directories that newly name packs, objects
# or new objects/xx/ directories were flushed.  Also fails when the trace
# names no pack, object or ref.

function quoted(s, n,    i, rest) {
	rest = s
	for (i = 1; i <= n; i++) {
		if (!match(rest, /"[^"]*"/))
			return ""
		q = substr(rest, RSTART + 1, RLENGTH - 2)
		rest = substr(rest, RSTART + RLENGTH)
	}
	sub(/\/+$/, "", q)
	return q
}
function dirname(p) {
	sub(/\/[^\/]*$/, "", p)
	return p
}
function fail(msg) {
	print "durable-order: " msg > "/dev/stderr"
	bad = 1
}

{ pid = $1 }

/ openat\(/ && / = [0-9]+$/ {
	path[pid, $NF] = quoted($0, 1)
	next
}

/ f(data)?sync\(/ && / = 0$/ {
	fd = $0
	sub(/^[^(]*\(/, "", fd)
	sub(/\).*$/, "", fd)
	synced[path[pid, fd]] = NR
	next
}

/ mkdir(at)?\(/ && / = 0$/ {
	d = quoted($0, 1)
	if (d ~ /\/objects\/[0-9a-f][0-9a-f]$/)
		waiting[dirname(d)] = NR	# objects/ now names a new directory
	next
}

/ (rename|renameat|renameat2|link|linkat)\(/ && / = 0$/ {
	from = quoted($0, 1)
	to = quoted($0, 2)
	if (from in synced)
		synced[to] = synced[from]	# flushed bytes keep their inode
	if (to ~ /\/objects\/pack\/pack-[0-9a-f]+\.(pack|idx)$/ ||
	    to ~ /\/objects\/[0-9a-f][0-9a-f]\/[0-9a-f]+$/) {
		if (!(from in synced))
			fail(to " was named before its bytes were flushed")
		named++
		waiting[dirname(to)] = NR
	} else if (to ~ /\/refs\/dml\/ledger$/) {
		if (!(from in synced))
			fail(to " was moved before its new value was flushed")
		for (d in waiting)
			if (!(d in synced) || synced[d] < waiting[d])
				fail(to " was moved before " d " was flushed")
		refs++
	}
}

END {
	if (!named)
		fail("no pack or object was named")
	if (!refs)
		fail("the ledger ref never moved")
	exit bad
}
