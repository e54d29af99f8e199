/*
 * exams.c: the model of every exam (exams.h).  Three passes: the
 * sessions (session.added / session.changed, the latest of each site's
 * session wins), the facts of those sessions, then the results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstore.h"
#include "exams.h"
#include "idnumber.h"

json_t *exams_obj(json_t *o, const char *name)
{
    json_t *s = json_object_get(o, name);

    if (s == NULL) {
        s = json_object();
        json_object_set_new(o, name, s);
    }
    return s;
}

static int on_session(void *arg, const struct cstore_row *r, struct err *e)
{
    json_t *all = arg, *p, *s;
    char key[600];
    static const char *const take[] = {"certificate", "level", "date",
                                       "published", "organisation"};
    size_t i;

    (void)e;
    if (r->session == NULL || r->payload == NULL ||
        (p = json_loads(r->payload, 0, NULL)) == NULL)
        return 0;
    snprintf(key, sizeof(key), "%s" EXAMS_SEP "%s", r->site, r->session);
    s = exams_obj(all, key);
    json_object_set_new(s, "site", json_string(r->site));
    json_object_set_new(s, "session", json_string(r->session));
    for (i = 0; i < sizeof(take) / sizeof(take[0]); i++)
        if (json_object_get(p, take[i]) != NULL)
            json_object_set(s, take[i], json_object_get(p, take[i]));
    /* session.changed records {"changes":{"date":{"old","new"}}} */
    if (json_is_object(json_object_get(p, "changes"))) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p, "changes"), k, v)
        {
            for (i = 0; i < sizeof(take) / sizeof(take[0]); i++)
                if (strcmp(k, take[i]) == 0 &&
                    json_object_get(v, "new") != NULL)
                    json_object_set(s, k, json_object_get(v, "new"));
        }
    }
    json_decref(p);
    return 0;
}

static void count_in(json_t *o, const char *name, json_int_t by)
{
    json_object_set_new(
        o, name,
        json_integer(json_integer_value(json_object_get(o, name)) + by));
}

static void incident(json_t *s, json_t *room, const struct cstore_row *r)
{
    json_t *p = json_loads(r->payload, 0, NULL), *item;
    const char *kind = json_string_value(json_object_get(p, "kind"));
    const char *seat = json_string_value(json_object_get(p, "seat"));
    const char *note = json_string_value(json_object_get(p, "note"));
    char *masked;

    if (kind == NULL) {
        json_decref(p);
        return;
    }
    count_in(exams_obj(room, "incidents"), kind, 1);
    if (strcmp(kind, "late") == 0 && r->ticket)
        json_object_set_new(exams_obj(room, "late"), r->ticket, json_true());
    item =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "room", r->room ? r->room : "",
                  "ticket", r->ticket ? r->ticket : "", "kind", kind, "seat",
                  seat ? seat : "", "note", "");
    /* a note is typed by a person: mask anything shaped like an ID number */
    if (note != NULL && (masked = strdup(note)) != NULL) {
        idnumber_redact(masked);
        json_object_set_new(item, "note", json_string(masked));
        free(masked);
    }
    if (!json_is_array(json_object_get(s, "incident_list")))
        json_object_set_new(s, "incident_list", json_array());
    json_array_append_new(json_object_get(s, "incident_list"), item);
    json_decref(p);
}

static int on_fact(void *arg, const struct cstore_row *r, struct err *e)
{
    json_t *all = arg, *s, *room;
    char key[600];
    const char *ticket = r->ticket ? r->ticket : "";

    (void)e;
    if (r->session == NULL)
        return 0;
    snprintf(key, sizeof(key), "%s" EXAMS_SEP "%s", r->site, r->session);
    if ((s = json_object_get(all, key)) == NULL)
        return 0;
    room = exams_obj(exams_obj(s, "rooms"), r->room ? r->room : "");
    if (strcmp(r->kind, "checkin.accepted") == 0 ||
        strcmp(r->kind, "checkin.manual") == 0) {
        json_object_set_new(exams_obj(room, "present"), ticket, json_true());
        json_object_set_new(exams_obj(s, "present"), ticket, json_true());
    } else if (strcmp(r->kind, "absent.marked") == 0) {
        json_object_set_new(exams_obj(room, "absent"), ticket, json_true());
        json_object_set_new(exams_obj(s, "absent"), ticket, json_true());
    } else if (strcmp(r->kind, "checkin.denied") == 0) {
        count_in(room, "denied", 1);
    } else if (strcmp(r->kind, "incident.logged") == 0 && r->payload) {
        incident(s, room, r);
    }
    return 0;
}

static int on_result(void *arg, const struct cstore_result *r, struct err *e)
{
    json_t *all = arg, *s;
    char key[600];

    (void)e;
    snprintf(key, sizeof(key), "%s" EXAMS_SEP "%s", r->site, r->session);
    if ((s = json_object_get(all, key)) != NULL)
        json_object_set_new(exams_obj(s, "results"), r->ticket,
                            json_boolean(r->passed));
    return 0;
}

json_t *exams_load(struct cstore *st, struct err *e)
{
    static const char *const skinds[] = {"session.added", "session.changed",
                                         NULL};
    static const char *const fkinds[] = {"checkin.accepted", "checkin.manual",
                                         "checkin.denied",   "absent.marked",
                                         "incident.logged",  NULL};
    json_t *all = json_object();

    if (all == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    if (st->ops->rows(st, skinds, on_session, all, e) == -1 ||
        st->ops->rows(st, fkinds, on_fact, all, e) == -1 ||
        st->ops->results(st, on_result, all, e) == -1) {
        json_decref(all);
        return NULL;
    }
    return all;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **exams_sorted_keys(json_t *o, size_t *n)
{
    const char **k = calloc(json_object_size(o) + 1, sizeof(*k));
    const char *key;
    json_t *v;
    size_t i = 0;

    if (k == NULL)
        return NULL;
    json_object_foreach(o, key, v) k[i++] = key;
    (void)v;
    qsort(k, i, sizeof(*k), cmp_str);
    *n = i;
    return k;
}

json_int_t exams_absent_count(json_t *absent, json_t *present)
{
    const char *t;
    json_t *v;
    json_int_t n = 0;

    json_object_foreach(absent, t, v) if (json_object_get(present, t) == NULL)
        n++;
    (void)v;
    return n;
}

const char *exams_incident_zh(const char *kind)
{
    static const struct {
        const char *kind, *zh;
    } names[] = {
        {"late", "迟到"},      {"absent", "缺考"},     {"exit", "离场"},
        {"reentry", "再入场"}, {"device", "设备故障"}, {"other", "其他"},
    };
    /* MOE Order 33: Art. 5's nine kinds of 违纪, Art. 6's nine of 作弊
     * (docs/control-protocol.md lists the codes) */
    static const char *const v_zh[] = {"违纪·携带规定以外物品",
                                       "违纪·未在指定座位",
                                       "违纪·开考前或结束后答题",
                                       "违纪·偷看或交头接耳",
                                       "违纪·扰乱考场秩序",
                                       "违纪·擅自离开考场",
                                       "违纪·将试卷带出考场",
                                       "违纪·在答卷上做标记",
                                       "违纪·其他"};
    static const char *const c_zh[] = {"作弊·携带相关材料或存储设备",
                                       "作弊·抄袭他人答案",
                                       "作弊·抢夺他人试卷",
                                       "作弊·使用通讯设备",
                                       "作弊·冒名代考",
                                       "作弊·故意销毁试卷",
                                       "作弊·答卷填写与本人身份不符信息",
                                       "作弊·传递物品",
                                       "作弊·其他"};
    size_t i;

    if ((kind[0] == 'V' || kind[0] == 'C') && kind[1] >= '1' &&
        kind[1] <= '9' && kind[2] == '\0')
        return kind[0] == 'V' ? v_zh[kind[1] - '1'] : c_zh[kind[1] - '1'];
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].kind, kind) == 0)
            return names[i].zh;
    return kind;
}
