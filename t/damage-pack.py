"""damage-pack.py GITDIR OID: damage one object inside its pack, in place.

Finds the blob OID through the indexes (git show-index), checks that its
pack entry is a zlib stream of stored blocks (as dmlctl writes them), flips
one bit in the middle of its first block and writes zlib's Adler-32 of the
new content, so that the stream still inflates and only the object's name
(and the index's CRC-32) no longer match: what a disk or a hand that edits
bytes would leave.  Prints the entry's offset in the pack.
"""
import glob
import os
import subprocess
import sys
import zlib

gitdir, oid = sys.argv[1:3]
for idx in sorted(glob.glob(os.path.join(gitdir, "objects", "pack", "pack-*.idx"))):
    with open(idx, "rb") as f:
        rows = subprocess.run(["git", "show-index"], stdin=f, check=True,
                              stdout=subprocess.PIPE).stdout.decode().split("\n")
    offs = {r.split()[1]: int(r.split()[0]) for r in rows if r}
    if oid in offs:
        break
else:
    sys.exit("damage-pack.py: %s is in no pack of %s" % (oid, gitdir))
pack = idx[:-4] + ".pack"
data = bytearray(open(pack, "rb").read())
at = offs[oid]
h = at
while data[h] & 0x80:
    h += 1
h += 1
assert data[h:h + 2] == b"\x78\x01", "not a stream of stored blocks"
blocks, r, last = [], h + 2, 0
while not last:
    last, n = data[r] & 1, data[r + 1] | data[r + 2] << 8
    blocks.append((r + 5, n))
    r += 5 + n
start, n = blocks[0]
data[start + n // 2] ^= 0x20
content = b"".join(bytes(data[s:s + k]) for s, k in blocks)
data[r:r + 4] = zlib.adler32(content).to_bytes(4, "big")
os.chmod(pack, 0o644)
open(pack, "wb").write(data)
print(at)
