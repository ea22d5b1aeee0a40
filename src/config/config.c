/*
 * Loading the config file. Each section is a table of known keys with their
 * type and range; anything else is refused with a message naming the key, so
 * a misspelt limit never silently falls back to its default.
 */
#include "config/config.h"

#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl_config_init(tl_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    c->data_dir = tl_strndup("./data", 6);
    c->max_body_bytes = 512000;
    c->max_event_bytes = 32768;
    c->max_depth = 32;
    c->max_string_len = 16384;
    c->max_members = 1000;
    c->dedup_horizon_ms = 24LL * 3600 * 1000;
    c->dedup_max_entries = 20000000;
    tl_journal_opts_default(&c->journal);
    c->journal.partitions = 0; /* as the data directory has it; 1 for a new one */
}

void tl_config_deinit(tl_config *c)
{
    for (size_t i = 0; i < c->n_sites; i++) {
        for (size_t k = 0; k < c->sites[i].n_keys; k++)
            tl_free(c->sites[i].write_keys[k]);
        tl_free(c->sites[i].write_keys);
        tl_free(c->sites[i].id);
    }
    tl_free(c->sites);
    tl_free(c->data_dir);
    tl_free(c->geoip_db);
    memset(c, 0, sizeof *c);
}

int tl_config_set_listen(tl_config *c, const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof c->listen_host)
        return TL_EINVAL;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return TL_EINVAL;
    memcpy(c->listen_host, hostport, (size_t)(colon - hostport));
    c->listen_host[colon - hostport] = '\0';
    c->listen_port = (uint16_t)port;
    return 0;
}

int tl_config_set_data(tl_config *c, const char *dir)
{
    char *d = tl_strndup(dir, strlen(dir));
    if (!d)
        return TL_ENOMEM;
    tl_free(c->data_dir);
    c->data_dir = d;
    return 0;
}

typedef enum { K_SIZE, K_U32, K_I64, K_STRING } kind;
typedef struct {
    const char *name;
    kind k;
    void *dst;
    double min, max;
    double scale; /* multiply the file's value by this (hours -> ms) */
} cfg_key;

static int apply(const tl_json *obj, const char *section, const cfg_key *keys, size_t n, char *err,
                 size_t errlen)
{
    if (obj->type != TL_JSON_OBJECT) {
        snprintf(err, errlen, "\"%s\" must be an object", section);
        return TL_EINVAL;
    }
    for (uint32_t m = 0; m < obj->len; m++) {
        const tl_json_member *mem = &obj->u.members[m];
        const cfg_key *k = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(keys[i].name, mem->key) == 0)
                k = &keys[i];
        if (!k) {
            snprintf(err, errlen, "unknown key \"%s.%s\"", section, mem->key);
            return TL_EINVAL;
        }
        if (k->k == K_STRING) {
            if (mem->value.type != TL_JSON_STRING) {
                snprintf(err, errlen, "\"%s.%s\" must be a string", section, mem->key);
                return TL_EINVAL;
            }
            *(const char **)k->dst = mem->value.u.str;
            continue;
        }
        double v = mem->value.u.num;
        if (mem->value.type != TL_JSON_NUMBER || v < k->min || v > k->max) {
            snprintf(err, errlen, "\"%s.%s\" must be a number from %.0f to %.0f", section, mem->key,
                     k->min, k->max);
            return TL_EINVAL;
        }
        v *= k->scale;
        if (k->k == K_SIZE)
            *(size_t *)k->dst = (size_t)v;
        else if (k->k == K_U32)
            *(uint32_t *)k->dst = (uint32_t)v;
        else
            *(int64_t *)k->dst = (int64_t)v;
    }
    return 0;
}

static int load_sites(tl_config *c, const tl_json *arr, char *err, size_t errlen)
{
    if (arr->type != TL_JSON_ARRAY) {
        snprintf(err, errlen, "\"sites\" must be an array");
        return TL_EINVAL;
    }
    c->sites = tl_calloc(arr->len ? arr->len : 1, sizeof *c->sites);
    if (!c->sites)
        return TL_ENOMEM;
    for (uint32_t i = 0; i < arr->len; i++) {
        const tl_json *s = &arr->u.items[i];
        const tl_json *id = tl_json_get_string(s, "id");
        const tl_json *keys = tl_json_get(s, "write_keys");
        if (!id || id->len == 0 || !keys || keys->type != TL_JSON_ARRAY) {
            snprintf(err, errlen, "sites[%u] needs \"id\" (string) and \"write_keys\" (array)", i);
            return TL_EINVAL;
        }
        tl_site *site = &c->sites[c->n_sites++];
        const tl_json *strict = tl_json_get(s, "strict");
        if (strict && strict->type != TL_JSON_TRUE && strict->type != TL_JSON_FALSE) {
            snprintf(err, errlen, "sites[%u].strict must be true or false", i);
            return TL_EINVAL;
        }
        for (uint32_t m = 0; m < s->len; m++) {
            const char *k = s->u.members[m].key;
            if (strcmp(k, "id") && strcmp(k, "write_keys") && strcmp(k, "strict")) {
                snprintf(err, errlen, "unknown key \"sites[%u].%s\"", i, k);
                return TL_EINVAL;
            }
        }
        site->strict = strict && strict->type == TL_JSON_TRUE;
        site->id = tl_strndup(id->u.str, id->len);
        site->write_keys = tl_calloc(keys->len ? keys->len : 1, sizeof(char *));
        if (!site->id || !site->write_keys)
            return TL_ENOMEM;
        for (uint32_t k = 0; k < keys->len; k++) {
            const tl_json *key = &keys->u.items[k];
            if (key->type != TL_JSON_STRING || key->len == 0) {
                snprintf(err, errlen, "sites[%u].write_keys[%u] must be a non-empty string", i, k);
                return TL_EINVAL;
            }
            if (tl_config_site_for_key(c, key->u.str, key->len)) {
                snprintf(err, errlen, "write key \"%s\" is given to two sites", key->u.str);
                return TL_EINVAL;
            }
            site->write_keys[site->n_keys++] = tl_strndup(key->u.str, key->len);
            if (!site->write_keys[site->n_keys - 1])
                return TL_ENOMEM;
        }
    }
    return 0;
}

int tl_config_load(tl_config *c, const char *path, char *err, size_t errlen)
{
    tl_buf text;
    tl_buf_init(&text);
    tl_arena *a = tl_arena_new(16384);
    int rc = tl_read_file(path, &text);
    if (rc) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, tl_strerror(rc));
        goto done;
    }
    tl_json *root;
    tl_json_error jerr;
    rc = tl_json_parse(a, text.ptr ? text.ptr : "", text.len, NULL, &root, &jerr);
    if (rc) {
        snprintf(err, errlen, "config file %s: %s", path, jerr.msg);
        goto done;
    }
    rc = TL_EINVAL;
    if (root->type != TL_JSON_OBJECT) {
        snprintf(err, errlen, "config file %s: expected a JSON object", path);
        goto done;
    }
    const char *listen = NULL, *data = NULL, *fsync = NULL, *geoip = NULL;
    int64_t retention_ms = c->journal.retention_ms;
    const cfg_key ingest[] = {
        {"max_body_bytes", K_SIZE, &c->max_body_bytes, 1024, 64e6, 1},
        {"max_event_bytes", K_SIZE, &c->max_event_bytes, 256, 16e6, 1},
        {"max_depth", K_U32, &c->max_depth, 2, 1000, 1},
        {"max_string_len", K_U32, &c->max_string_len, 16, 16e6, 1},
        {"max_members", K_U32, &c->max_members, 1, 1e6, 1},
        {"dedup_horizon_seconds", K_I64, &c->dedup_horizon_ms, 0, 30 * 86400, 1000},
        {"dedup_max_entries", K_SIZE, &c->dedup_max_entries, 1000, 1e9, 1},
    };
    const cfg_key journal[] = {
        {"partitions", K_U32, &c->journal.partitions, 0, 256, 1},
        {"fsync", K_STRING, &fsync, 0, 0, 1},
        {"commit_interval_ms", K_U32, &c->journal.commit_interval_ms, 1, 1000, 1},
        {"segment_bytes", K_SIZE, &c->journal.segment_bytes, 1 << 16, 1e12, 1},
        {"retention_hours", K_I64, &retention_ms, 0, 1e6, 3600000},
        {"retention_bytes", K_SIZE, &c->journal.retention_bytes, 0, 1e15, 1},
    };
    const cfg_key http[] = {{"threads", K_U32, &c->http_threads, 0, 256, 1}};
    const cfg_key enrich[] = {{"geoip_db", K_STRING, &geoip, 0, 0, 1}};
    for (uint32_t m = 0; m < root->len; m++) {
        const tl_json_member *mem = &root->u.members[m];
        const tl_json *v = &mem->value;
        int r = 0;
        if (strcmp(mem->key, "listen") == 0 || strcmp(mem->key, "data") == 0) {
            if (v->type != TL_JSON_STRING) {
                snprintf(err, errlen, "\"%s\" must be a string", mem->key);
                goto done;
            }
            *(mem->key[0] == 'l' ? &listen : &data) = v->u.str;
        } else if (strcmp(mem->key, "sites") == 0) {
            r = load_sites(c, v, err, errlen);
        } else if (strcmp(mem->key, "ingest") == 0) {
            r = apply(v, "ingest", ingest, TL_ARRAY_LEN(ingest), err, errlen);
        } else if (strcmp(mem->key, "journal") == 0) {
            r = apply(v, "journal", journal, TL_ARRAY_LEN(journal), err, errlen);
        } else if (strcmp(mem->key, "http") == 0) {
            r = apply(v, "http", http, TL_ARRAY_LEN(http), err, errlen);
        } else if (strcmp(mem->key, "enrich") == 0) {
            r = apply(v, "enrich", enrich, TL_ARRAY_LEN(enrich), err, errlen);
        } else if (strcmp(mem->key, "strict") == 0) {
            if (v->type != TL_JSON_TRUE && v->type != TL_JSON_FALSE) {
                snprintf(err, errlen, "\"strict\" must be true or false");
                goto done;
            }
            c->strict = v->type == TL_JSON_TRUE;
        } else {
            snprintf(err, errlen, "unknown key \"%s\"", mem->key);
            goto done;
        }
        if (r) {
            rc = r;
            goto done;
        }
    }
    c->journal.retention_ms = retention_ms;
    if (listen && tl_config_set_listen(c, listen)) {
        snprintf(err, errlen, "\"listen\" must be HOST:PORT, got \"%s\"", listen);
        goto done;
    }
    if (data && tl_config_set_data(c, data)) {
        rc = TL_ENOMEM;
        goto done;
    }
    if (geoip) {
        tl_free(c->geoip_db);
        if (!(c->geoip_db = tl_strndup(geoip, strlen(geoip)))) {
            rc = TL_ENOMEM;
            goto done;
        }
    }
    if (fsync && tl_fsync_policy_parse(fsync, &c->journal.fsync)) {
        snprintf(err, errlen, "\"journal.fsync\" must be always, interval or never, got \"%s\"",
                 fsync);
        goto done;
    }
    rc = 0;
done:
    tl_arena_free(a);
    tl_buf_deinit(&text);
    return rc;
}

const tl_site *tl_config_site_for_key(const tl_config *c, const char *key, size_t len)
{
    for (size_t i = 0; i < c->n_sites; i++)
        for (size_t k = 0; k < c->sites[i].n_keys; k++)
            if (strlen(c->sites[i].write_keys[k]) == len &&
                memcmp(c->sites[i].write_keys[k], key, len) == 0)
                return &c->sites[i];
    return NULL;
}

bool tl_config_has_site(const tl_config *c, const char *id, size_t len)
{
    for (size_t i = 0; i < c->n_sites; i++)
        if (strlen(c->sites[i].id) == len && memcmp(c->sites[i].id, id, len) == 0)
            return true;
    return false;
}

bool tl_config_site_strict(const tl_config *c, const char *id, size_t len)
{
    for (size_t i = 0; i < c->n_sites; i++)
        if (strlen(c->sites[i].id) == len && memcmp(c->sites[i].id, id, len) == 0)
            return c->sites[i].strict;
    return c->strict;
}
