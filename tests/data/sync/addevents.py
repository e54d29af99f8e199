#!/usr/bin/env python3
"""addevents.py DB N: append N check-in denials to a station's event log,
chained and hashed as docs/event-chain.md says (with Python's hashlib, not
examsite's code), for tests that need a long log quickly."""
import hashlib, json, sqlite3, struct, sys, time

def field(s):
    if s is None:
        return b"\xff\xff\xff\xff"
    b = str(s).encode()
    return struct.pack(">I", len(b)) + b

db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
last_id, prev, last_time, off = db.execute(
    "SELECT id, hash, time, tz_offset FROM event ORDER BY id DESC LIMIT 1").fetchone()
rows = []
for i in range(n):
    eid = last_id + 1 + i
    payload = json.dumps({"result": "denied", "reason": "not_on_roster", "n": i},
                         separators=(",", ":"))
    f = [eid, last_time, off, "checkin.denied", None, "101", None, "door1", None, payload]
    h = hashlib.sha256(bytes.fromhex(prev) + b"".join(field(x) for x in f)).hexdigest()
    rows.append(tuple(f) + (prev, h))
    prev = h
db.executemany("INSERT INTO event (id, time, tz_offset, kind, session, room, ticket, "
               "device, operator, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               rows)
db.commit()
