/*
 * roster.c: the candidate and room tables.
 */
#include <stdio.h>
#include <string.h>

#include "roster.h"
#include "store.h"

static const char *SQL_ROOM = "INSERT OR IGNORE INTO room (code) VALUES (?)";

int room_ensure(struct store *st, const char *code, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_ROOM, e)) == NULL)
        return -1;
    store_bind_text(q, 1, code);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "room");
}

/* What is written by an import, and what is read (the mark as well). */
#define CAND_COLS "ticket, name, id_hash, id_last4, session, room, seat"
#define CAND_READ CAND_COLS ", withdrawn"

static int bind_hash(sqlite3_stmt *q, int idx,
                     const unsigned char hash[IDNUMBER_HASH_LEN])
{
    return sqlite3_bind_blob(q, idx, hash, IDNUMBER_HASH_LEN, SQLITE_STATIC);
}

static void candidate_from_row(sqlite3_stmt *q, struct candidate *c)
{
    snprintf(c->ticket, sizeof(c->ticket), "%s", store_col_text(q, 0));
    snprintf(c->name, sizeof(c->name), "%s", store_col_text(q, 1));
    if (sqlite3_column_bytes(q, 2) == IDNUMBER_HASH_LEN)
        memcpy(c->id_hash, sqlite3_column_blob(q, 2), IDNUMBER_HASH_LEN);
    else
        memset(c->id_hash, 0, IDNUMBER_HASH_LEN);
    snprintf(c->id_last4, sizeof(c->id_last4), "%s", store_col_text(q, 3));
    snprintf(c->session, sizeof(c->session), "%s", store_col_text(q, 4));
    snprintf(c->room, sizeof(c->room), "%s", store_col_text(q, 5));
    snprintf(c->seat, sizeof(c->seat), "%s", store_col_text(q, 6));
    c->withdrawn = sqlite3_column_int(q, 7) != 0;
}

static const char *SQL_BY_TICKET =
    "SELECT " CAND_READ " FROM candidate WHERE ticket = ?";
/* a seat is held by a candidate not withdrawn (migration 003) */
static const char *SQL_BY_SEAT =
    "SELECT " CAND_READ " FROM candidate WHERE session = ? AND room = ? "
    "AND seat = ? AND withdrawn = 0";
static const char *SQL_BY_ID =
    "SELECT " CAND_READ " FROM candidate WHERE id_hash = ? AND session = ?";
static const char *SQL_INSERT =
    "INSERT INTO candidate (" CAND_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)";

/* Run a one-row query bound to up to three values (the first is the hash
 * for SQL_BY_ID, text otherwise); fill out if found. */
static int one_candidate(struct store *st, const char *sql, const void *a,
                         const char *b, const char *c, struct candidate *out,
                         struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, sql, e)) == NULL)
        return -1;
    if (sql == SQL_BY_ID)
        bind_hash(q, 1, a);
    else
        store_bind_text(q, 1, (const char *)a);
    if (b)
        store_bind_text(q, 2, b);
    if (c)
        store_bind_text(q, 3, c);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        candidate_from_row(q, out);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_sqlerr(st, e, "candidate");
}

int candidate_get(struct store *st, const char *ticket, struct candidate *out,
                  struct err *e)
{
    return one_candidate(st, SQL_BY_TICKET, ticket, NULL, NULL, out, e);
}

int candidate_same(const struct candidate *a, const struct candidate *b)
{
    return strcmp(a->name, b->name) == 0 &&
           memcmp(a->id_hash, b->id_hash, IDNUMBER_HASH_LEN) == 0 &&
           strcmp(a->session, b->session) == 0 &&
           strcmp(a->room, b->room) == 0 && strcmp(a->seat, b->seat) == 0;
}

/* The seat or the ID number of c held by another ticket than c's, in
 * words: -1 and e filled; 0 when neither is (the cause is elsewhere). */
static int taken_by_other(struct store *st, const struct candidate *c,
                          struct err *e)
{
    struct candidate old;
    int rc;

    if ((rc = one_candidate(st, SQL_BY_SEAT, c->session, c->room, c->seat, &old,
                            e)) == -1)
        return -1;
    if (rc == 1 && strcmp(old.ticket, c->ticket) != 0)
        return err_set(e, EX_DATAERR,
                       "seat %s in room %s of session %s is already taken by "
                       "ticket %s",
                       c->seat, c->room, c->session, old.ticket);
    if ((rc = one_candidate(st, SQL_BY_ID, c->id_hash, c->session, NULL, &old,
                            e)) == -1)
        return -1;
    if (rc == 1 && strcmp(old.ticket, c->ticket) != 0)
        return err_set(e, EX_DATAERR,
                       "this ID number is already on the roster of session %s "
                       "(ticket %s%s)",
                       c->session, old.ticket,
                       old.withdrawn ? ", withdrawn" : "");
    return 0;
}

/* "seat 01 → 09, room 101 → 102": what differs from old to c, the ID
 * number by its last 4 only. */
static void describe_diff(const struct candidate *old,
                          const struct candidate *c, char *out, size_t cap)
{
    size_t n = 0;

#define PART(...)                                                              \
    do {                                                                       \
        if (n < cap)                                                           \
            n += (size_t)snprintf(out + n, cap - n, "%s", n ? ", " : "");      \
        if (n < cap)                                                           \
            n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);              \
    } while (0)
    out[0] = '\0';
    if (strcmp(old->name, c->name) != 0)
        PART("name %s → %s", old->name, c->name);
    if (memcmp(old->id_hash, c->id_hash, IDNUMBER_HASH_LEN) != 0)
        PART("ID number **************%s → **************%s", old->id_last4,
             c->id_last4);
    if (strcmp(old->session, c->session) != 0)
        PART("session %s → %s", old->session, c->session);
    if (strcmp(old->room, c->room) != 0)
        PART("room %s → %s", old->room, c->room);
    if (strcmp(old->seat, c->seat) != 0)
        PART("seat %s → %s", old->seat, c->seat);
#undef PART
}

/* After a constraint failure: which one, in words. */
static int candidate_conflict(struct store *st, const struct candidate *c,
                              struct err *e)
{
    struct candidate old;
    char diff[300];
    int rc;

    if ((rc = one_candidate(st, SQL_BY_TICKET, c->ticket, NULL, NULL, &old,
                            e)) != 0) {
        if (rc == -1)
            return -1;
        if (candidate_same(&old, c))
            return 0;
        describe_diff(&old, c, diff, sizeof(diff));
        if (old.withdrawn)
            return err_set(e, EX_DATAERR,
                           "ticket %s is already on the roster with different "
                           "details (%s), and withdrawn",
                           c->ticket, diff);
        return err_set(e, EX_DATAERR,
                       "ticket %s is already on the roster with different "
                       "details (%s): the office's corrections are applied "
                       "with --apply-changes --reason TEXT",
                       c->ticket, diff);
    }
    if (taken_by_other(st, c, e) == -1)
        return -1;
    return err_set(e, EX_DATAERR, "session %s or room %s does not exist",
                   c->session, c->room);
}

/* The seven columns of a candidate row, in the order the statements name
 * them, from parameter at + 1 on. */
static void bind_at(sqlite3_stmt *q, int at, const struct candidate *c)
{
    store_bind_text(q, at + 1, c->ticket);
    store_bind_text(q, at + 2, c->name);
    bind_hash(q, at + 3, c->id_hash);
    store_bind_text(q, at + 4, c->id_last4);
    store_bind_text(q, at + 5, c->session);
    store_bind_text(q, at + 6, c->room);
    store_bind_text(q, at + 7, c->seat);
}

static void bind_candidate(sqlite3_stmt *q, const struct candidate *c)
{
    bind_at(q, 0, c);
}

int candidate_put(struct store *st, const struct candidate *c, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_INSERT, e)) == NULL)
        return -1;
    bind_candidate(q, c);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_DONE)
        return 1;
    if ((sqlite3_extended_errcode(store_db(st)) & 0xff) == SQLITE_CONSTRAINT)
        return candidate_conflict(st, c, e);
    return store_sqlerr(st, e, "candidate insert");
}

/* CANDIDATE_BATCH rows in one statement: a statement's own cost (binding
 * aside) is paid once for them all. */
#define ROW7     "(?, ?, ?, ?, ?, ?, ?)"
#define ROWS2(r) r ", " r
#define ROWS64   ROWS2(ROWS2(ROWS2(ROWS2(ROWS2(ROWS2(ROW7))))))
static const char *SQL_INSERT_BATCH =
    "INSERT INTO candidate (" CAND_COLS ") VALUES " ROWS64;
_Static_assert(CANDIDATE_BATCH == 64, "SQL_INSERT_BATCH holds 64 rows");

/* One statement, rows c[0..n) (n 1 or CANDIDATE_BATCH). */
static int insert_rows(struct store *st, const char *sql,
                       const struct candidate *c, size_t n, struct err *e)
{
    sqlite3_stmt *q;
    size_t i;
    int rc;

    if ((q = store_stmt(st, sql, e)) == NULL)
        return -1;
    for (i = 0; i < n; i++)
        bind_at(q, (int)i * 7, &c[i]);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "candidate insert");
}

int candidate_put_rows(struct store *st, const struct candidate *c, size_t n,
                       struct err *e)
{
    size_t i;

    for (i = 0; i + CANDIDATE_BATCH <= n; i += CANDIDATE_BATCH)
        if (insert_rows(st, SQL_INSERT_BATCH, c + i, CANDIDATE_BATCH, e) == -1)
            return -1;
    for (; i < n; i++)
        if (insert_rows(st, SQL_INSERT, c + i, 1, e) == -1)
            return -1;
    return 0;
}

static const char *SQL_UPDATE =
    "UPDATE candidate SET name = ?2, id_hash = ?3, id_last4 = ?4, "
    "session = ?5, room = ?6, seat = ?7 WHERE ticket = ?1";
/* No real seat starts with '#' (site_ident_valid): a parked row holds
 * none of them. */
static const char *SQL_PARK =
    "UPDATE candidate SET seat = '#' || ticket WHERE ticket = ?";
static const char *SQL_WITHDRAW =
    "UPDATE candidate SET withdrawn = 1 WHERE ticket = ?";

int candidate_update(struct store *st, const struct candidate *c, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_UPDATE, e)) == NULL)
        return -1;
    bind_candidate(q, c);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_DONE)
        return sqlite3_changes(store_db(st)) == 1
                   ? 0
                   : err_set(e, EX_DATAERR, "ticket %s is not on the roster",
                             c->ticket);
    if ((sqlite3_extended_errcode(store_db(st)) & 0xff) == SQLITE_CONSTRAINT) {
        if (taken_by_other(st, c, e) == -1)
            return -1;
        return err_set(e, EX_DATAERR, "session %s or room %s does not exist",
                       c->session, c->room);
    }
    return store_sqlerr(st, e, "candidate update");
}

/* One UPDATE of one ticket's row. */
static int update_ticket(struct store *st, const char *sql, const char *ticket,
                         struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, sql, e)) == NULL)
        return -1;
    store_bind_text(q, 1, ticket);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "candidate update");
    if (sqlite3_changes(store_db(st)) != 1)
        return err_set(e, EX_DATAERR, "ticket %s is not on the roster", ticket);
    return 0;
}

int candidate_park(struct store *st, const char *ticket, struct err *e)
{
    return update_ticket(st, SQL_PARK, ticket, e);
}

int candidate_withdraw(struct store *st, const char *ticket, struct err *e)
{
    return update_ticket(st, SQL_WITHDRAW, ticket, e);
}

static int candidate_query(struct store *st, sqlite3_stmt *q, candidate_fn fn,
                           void *ud, struct err *e)
{
    struct candidate c;
    struct err cbe;
    int rc;

    err_clear(&cbe);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        candidate_from_row(q, &c);
        if (fn(ud, &c, &cbe) == -1) {
            sqlite3_finalize(q);
            return store_callback_err(e, &cbe, "candidates");
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "candidates");
    return 0;
}

int candidate_foreach(struct store *st, const char *session, const char *room,
                      candidate_fn fn, void *ud, struct err *e)
{
    static const char *sql =
        "SELECT " CAND_READ " FROM candidate "
        "WHERE (?1 IS NULL OR session = ?1) AND (?2 IS NULL OR room = ?2) "
        "ORDER BY session, room, CAST(seat AS INTEGER), seat, withdrawn DESC";
    sqlite3_stmt *q;

    if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "candidates");
    store_bind_text(q, 1, session);
    store_bind_text(q, 2, room);
    return candidate_query(st, q, fn, ud, e);
}

int candidate_find_by_hash(struct store *st,
                           const unsigned char id_hash[IDNUMBER_HASH_LEN],
                           candidate_fn fn, void *ud, struct err *e)
{
    static const char *sql =
        "SELECT " CAND_READ " FROM candidate WHERE id_hash = ?";
    sqlite3_stmt *q;

    if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "candidates");
    bind_hash(q, 1, id_hash);
    return candidate_query(st, q, fn, ud, e);
}

int candidate_none(struct store *st, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, "SELECT 1 FROM candidate LIMIT 1", e)) == NULL)
        return -1;
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? 1 : store_sqlerr(st, e, "candidates");
}

/* The seat and ID-number keys in the words of migration 005, so that the
 * schema after a first import is the schema a migrated database has. */
static const char *SQL_KEYS_DROP =
    "DROP INDEX candidate_id; DROP INDEX candidate_seat";
static const char *SQL_KEYS_BUILD =
    "CREATE UNIQUE INDEX candidate_id ON candidate (id_hash, session);\n"
    "CREATE UNIQUE INDEX candidate_seat ON candidate (session, room, seat, "
    "withdrawn)\n    WHERE withdrawn = 0";

int candidate_keys_drop(struct store *st, struct err *e)
{
    if (!store_in_txn(st))
        return err_set(e, EX_SOFTWARE,
                       "candidate keys dropped outside a "
                       "transaction");
    return store_exec(st, SQL_KEYS_DROP, e);
}

int candidate_keys_build(struct store *st, struct err *e)
{
    if (store_exec(st, SQL_KEYS_BUILD, e) == 0)
        return 0;
    return sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_UNIQUE
               ? 1
               : -1;
}
