#!/usr/bin/env python3
"""mkoffice.py: a seeded office for the office tests, with Python's
standard library only: station event logs chained and hashed as
docs/event-chain.md says (one SQLite file per site and station, with the
`event` table tests/data/sync/mkbatch.py reads), and results files.

  mkoffice.py OUTDIR --today YYYY-MM-DD

Writes OUTDIR/S1-st1.db, OUTDIR/S2-st1.db (exams dated from --today),
OUTDIR/results-good.csv (English headers, UTF-8 with BOM, a session
column), OUTDIR/results-gb.csv (Chinese headers, GB18030, no session
column), OUTDIR/results-bad.csv (bad lines), OUTDIR/results-absent.csv
(a result for an absent and one for a never-seen candidate) and
OUTDIR/expect.json (the figures the tests compare with).
"""
import argparse, datetime, hashlib, json, os, sqlite3, struct

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--today", required=True)
a = ap.parse_args()
today = datetime.date.fromisoformat(a.today)
day = lambda n: (today + datetime.timedelta(days=n)).isoformat()

# site, session, certificate, level, day offset, published, rooms
# {room: (present, absent)}, incidents [(room, kind, note)], passed
EXAMS = [
    ("S1", "WEB-1", "Web前端开发", "初级", -12, 20, {"101": (16, 4)},
     [("101", "V1", "带手机入场"), ("101", "late", None)], 13),
    ("S2", "WEB-2", "Web前端开发", "中级", -4, 10, {"201": (9, 1)}, [], 8),
    ("S1", "CLOUD-1", "云计算", "初级", -3, 40, {"<script>": (10, 0), "=2+3": (0, 1)},
     [("<script>", "C2", "<b>夹带</b> 110105198911170000")], None),
    ("S1", "DB-1", "数据库管理", "初级", -20, 10, {"102": (10, 0)}, [], 2),
    ("S2", "DB-2", "数据库管理", "中级", -2, 10, {"202": (10, 0)}, [], 2),
    ("S1", "BIG-1", "大数据分析", "初级", -1, 12, {"103": (12, 0)}, [], 3),
    ("S1", "FUT-1", "大数据分析", "中级", 3, 12, {}, [], None),
]

def field(s):
    if s is None:
        return b"\xff\xff\xff\xff"
    b = str(s).encode()
    return struct.pack(">I", len(b)) + b

logs = {}
def emit(site, kind, session=None, room=None, ticket=None, payload=None, when=None):
    log = logs.setdefault(site, [])
    prev = log[-1][-1] if log else "0" * 64
    eid = len(log) + 1
    t = (when or today).isoformat() + "T01:00:00.000Z"
    p = json.dumps(payload or {}, ensure_ascii=False, separators=(",", ":"))
    f = [eid, t, 28800, kind, session, room, ticket, None, None, p]
    h = hashlib.sha256(bytes.fromhex(prev) + b"".join(field(x) for x in f)).hexdigest()
    log.append(tuple(f) + (prev, h))

expect, results = {}, {}
for n, (site, sess, cert, level, off, pub, rooms, incs, passed) in enumerate(EXAMS):
    date = today + datetime.timedelta(days=off)
    emit(site, "session.added", sess, payload={
        "certificate": cert, "level": level, "date": date.isoformat(),
        "start": "09:00", "end": "11:00", "opens_before": 30,
        "late_after": 15, "published": pub}, when=date - datetime.timedelta(days=7))
    present, absent, seq = [], [], 0
    for room, (np, na) in rooms.items():
        for i in range(np + na):
            seq += 1
            ticket = "26%d%02d%04d" % (1 if site == "S1" else 2, n, seq)
            if i < np:
                present.append(ticket)
                emit(site, "checkin.accepted", sess, room, ticket,
                     {"seat": "%02d" % (i + 1)}, when=date)
            else:
                absent.append(ticket)
                emit(site, "absent.marked", sess, room, ticket, {}, when=date)
    for room, kind, note in incs:
        p = {"kind": kind, "seat": "03"}
        if note:
            p["note"] = note
        emit(site, "incident.logged", sess, room, present[2], p, when=date)
    expect[sess] = {"site": site, "date": date.isoformat(), "present": present,
                    "absent": absent, "published": pub}
    if passed is not None:
        results[sess] = [(t, i < passed) for i, t in enumerate(present)]

os.makedirs(a.out, exist_ok=True)
for site, log in logs.items():
    path = os.path.join(a.out, "%s-st1.db" % site)
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, time TEXT, tz_offset "
               "INTEGER, kind TEXT, session TEXT, room TEXT, ticket TEXT, device "
               "TEXT, operator TEXT, payload TEXT, prev_hash TEXT, hash TEXT)")
    db.executemany("INSERT INTO event VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", log)
    db.commit()
    expect.setdefault("_events", {})[site] = len(log)

def write(name, text, enc="utf-8-sig"):
    with open(os.path.join(a.out, name), "w", encoding=enc, newline="") as f:
        f.write(text)

good = "ticket,session,score,pass\r\n" + "".join(
    "%s,%s,%d,%s\r\n" % (t, s, 75 if ok else 40, "yes" if ok else "no")
    for s in ("WEB-1", "DB-1") for t, ok in results[s])
write("results-good.csv", good)
gb = "准考证号,姓名,成绩,是否通过\n" + "".join(
    "%s,考生%d,%s,%s\n" % (t, i, "合格" if ok else "不合格", "是" if ok else "否")
    for s in ("WEB-2", "DB-2", "BIG-1") for i, (t, ok) in enumerate(results[s]))
write("results-gb.csv", gb, "gb18030")
w1 = expect["WEB-1"]["present"]
bad = ("ticket,score,pass\n%s,80,yes\n26#1,80,yes\n%s,80,maybe\n%s,abc,yes\n%s,70,no\n"
       % (w1[0], w1[1], w1[2], w1[0]))
write("results-bad.csv", bad, "utf-8")
absent = "ticket,score,pass\n%s,80,yes\n%s,80,yes\n269999999,80,yes\n" % (
    w1[3], expect["WEB-1"]["absent"][0])
write("results-absent.csv", absent, "utf-8")
with open(os.path.join(a.out, "expect.json"), "w") as f:
    json.dump(expect, f, ensure_ascii=False, indent=1)
