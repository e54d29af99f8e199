#!/usr/bin/env python3
"""mkbatch.py: a batch written from docs/batch-format.md with nothing but
Python's standard library, from a station's database, to prove that the
format is what the page says and to make the hostile uploads the office
must refuse.

  mkbatch.py DB KEYHEX OUT --seq N --first ID --last ID [--site S]
             [--station S] [--prev HASH] [--tamper | --break-chain |
             --nonjson | --long-line | --no-lf | --garbage-gzip | --relabel N]

Writes OUT (the gzip body) and OUT.sig (hex HMAC-SHA256 under KEYHEX).
"""
import argparse, gzip, hashlib, hmac, json, os, sqlite3, sys

ap = argparse.ArgumentParser()
ap.add_argument("db"); ap.add_argument("key"); ap.add_argument("out")
ap.add_argument("--seq", type=int, required=True)
ap.add_argument("--first", type=int, required=True)
ap.add_argument("--last", type=int, required=True)
ap.add_argument("--site", default="S1"); ap.add_argument("--station", default="st1")
ap.add_argument("--prev")
for f in ("tamper", "break_chain", "nonjson", "long_line", "no_lf", "garbage_gzip"):
    ap.add_argument("--" + f.replace("_", "-"), action="store_true")
ap.add_argument("--relabel", type=int, help="header seq differs from --seq")
a = ap.parse_args()

db = sqlite3.connect(a.db)
cols = "id, time, tz_offset, kind, session, room, ticket, device, operator, payload, prev_hash, hash"
rows = db.execute(f"SELECT {cols} FROM event WHERE id BETWEEN ? AND ? ORDER BY id",
                  (a.first, a.last)).fetchall()
if a.prev is None:
    r = db.execute("SELECT hash FROM event WHERE id = ?", (a.first - 1,)).fetchone()
    a.prev = r[0] if r else "0" * 64
keys = ["id", "time", "tz_offset", "kind", "session", "room", "ticket", "device",
        "operator", "payload", "prev_hash", "hash"]
lines = [json.dumps(dict(zip(keys, r)), ensure_ascii=False, separators=(",", ":"))
         for r in rows]
if a.tamper:          # a payload changed, its hash kept
    ev = json.loads(lines[-1]); ev["payload"] = ev["payload"].replace("}", ',"x":1}', 1)
    lines[-1] = json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
if a.break_chain and len(lines) > 2:
    del lines[1]
if a.nonjson:
    lines[-1] = lines[-1][:-1] + ",,"
if a.long_line:
    lines[-1] = '{"id":1,"x":"' + os.urandom(35000).hex() + '"}'
payload = "".join(l + "\n" for l in lines).encode()
head = {"batch": {"v": 1, "site": a.site, "station": a.station,
                  "seq": a.relabel if a.relabel else a.seq,
                  "first_event": a.first, "last_event": a.last,
                  "count": a.last - a.first + 1, "prev_chain_hash": a.prev,
                  "last_chain_hash": rows[-1][11],
                  "payload_sha256": hashlib.sha256(payload).hexdigest()}}
text = (json.dumps(head, separators=(",", ":")) + "\n").encode() + payload
if a.no_lf:
    text = text[:-1]
body = gzip.compress(text, mtime=0)
if a.garbage_gzip:
    body = body[:10] + bytes(b ^ 0x5A for b in body[10:40]) + body[40:]
open(a.out, "wb").write(body)
open(a.out + ".sig", "w").write(
    hmac.new(bytes.fromhex(a.key), body, hashlib.sha256).hexdigest() + "\n")
