/* pprof.c — `pferris report --pprof heap|time|waits|cpu`: a gzipped perftools.profiles.Profile
 * (google/pprof proto/profile.proto; a copy is in tests/pprof/) for `go tool pprof`, Pyroscope
 * and Grafana.
 *   heap   sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 *          inuse_space/bytes (Go's heap profiles, in their order); one sample per call site of
 *          heap.sites, with the report's estimates (sampling already undone); period_type
 *          space/bytes and period heap.sampling.mean_bytes. Mappings carry module paths and
 *          GNU build IDs, locations addresses, functions symbol names and, where the module
 *          has debug information, file and line (addr2line, as --top).
 *   time   the timing tree as stacks of timer names: calls/count and wall/nanoseconds of
 *          self time.
 *   waits  contentions/count and delay/nanoseconds (Go's mutex and block profiles): one sample
 *          per lock of "locks", its frames the call site where it is waited on most, with a
 *          "kind" label (mutex, rwlock, cond, barrier, sem); period_type delay/nanoseconds and
 *          period waits.sample_ns.
 *   cpu    samples/count and cpu/nanoseconds (Go's CPU profile): one sample per stack of
 *          cpu.sites; period_type cpu/nanoseconds and period 1e9 / cpu.hz.
 * heap, waits and cpu share the mapping, location and function tables.
 * A merged report gives one profile with a "rank" (or "pid") label on every sample. The
 * protobuf is written by tools/common/proto.c, gzipped by gzip.c (zlib). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/proto.h"
#include "pferris.h"
#include "cmd.h"
#include "gzip.h"

/* Field numbers of profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
    LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
    MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3, MAPPING_FILENAME = 5,
    MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* Shared objects and PIE executables get made-up load addresses, 4 GiB apart, so that every
 * mapping has its own address range and address - memory_start is the module's offset. */
#define SYNTHETIC_BASE 0x7f0000000000ull
#define SYNTHETIC_STRIDE (1ull << 32)

typedef struct {
    const char *path;
    pf_site_module_t elf;
    int is_elf, has_functions, has_lines;
    unsigned long long start, max_offset;
} mapping_t;

/* One distinct frame of the heap profile: a module and offset, or a name without address. */
typedef struct {
    json_t *frame;
    uint64_t mapping; /* 0 for none */
    pf_site_source_t src;
} loc_t;

typedef struct {
    pf_proto_t samples, mappings, locations, functions, strings;
    json_t *string_ids, *loc_ids, *fn_ids, *map_ids; /* text -> id (string index) */
    int64_t nstrings;
    uint64_t nfunctions;
    mapping_t *maps;
    size_t nmaps, map_cap;
    loc_t *locs;
    size_t nlocs, loc_cap;
    int failed;
} pprof_t;

/* ---- tables: strings, functions ---------------------------------------------------------- */

static int64_t str_index(pprof_t *p, const char *s);

/* A protobuf string must be UTF-8: a name cut short by a buffer may end inside a character,
 * and debug information need not be UTF-8. Bytes that do not form a character become '?'. */
static void utf8_clean(char *s)
{
    unsigned char *u = (unsigned char *)s;
    while (*u) {
        size_t n = *u < 0x80 ? 1 : (*u & 0xe0) == 0xc0 ? 2 : (*u & 0xf0) == 0xe0 ? 3
                                 : (*u & 0xf8) == 0xf0 ? 4 : 0;
        size_t k = 1;
        while (n > 1 && k < n && (u[k] & 0xc0) == 0x80)
            k++;
        if (n == 0 || k < n) {
            *u++ = '?';
            continue;
        }
        u += n;
    }
}

static int64_t str_id(pprof_t *p, const char *text)
{
    char *s = strdup(text);
    if (!s) {
        p->failed = 1;
        return 0;
    }
    utf8_clean(s);
    int64_t i = str_index(p, s);
    free(s);
    return i;
}

static int64_t str_index(pprof_t *p, const char *s)
{
    json_t *id = json_object_get(p->string_ids, s);
    if (id)
        return json_integer_value(id);
    if (json_object_set_new_nocheck(p->string_ids, s, json_integer(p->nstrings)) != 0)
        p->failed = 1;
    pf_proto_string(&p->strings, PROFILE_STRING_TABLE, s);
    return p->nstrings++;
}

static uint64_t function_id(pprof_t *p, const char *name, const char *file)
{
    char key[1100];
    snprintf(key, sizeof key, "%s\n%s", name, file ? file : "");
    json_t *id = json_object_get(p->fn_ids, key);
    if (id)
        return (uint64_t)json_integer_value(id);
    uint64_t fid = ++p->nfunctions;
    json_object_set_new_nocheck(p->fn_ids, key, json_integer((json_int_t)fid));
    size_t m = pf_proto_begin(&p->functions, PROFILE_FUNCTION);
    pf_proto_uint(&p->functions, FUNCTION_ID, fid);
    pf_proto_int(&p->functions, FUNCTION_NAME, str_id(p, name));
    pf_proto_int(&p->functions, FUNCTION_SYSTEM_NAME, str_id(p, name));
    if (file && *file)
        pf_proto_int(&p->functions, FUNCTION_FILENAME, str_id(p, file));
    pf_proto_end(&p->functions, m);
    return fid;
}

static void value_type(pprof_t *p, pf_proto_t *into, uint32_t field, const char *type,
                       const char *unit)
{
    size_t m = pf_proto_begin(into, field);
    pf_proto_int(into, VALUE_TYPE_TYPE, str_id(p, type));
    pf_proto_int(into, VALUE_TYPE_UNIT, str_id(p, unit));
    pf_proto_end(into, m);
}

/* One sample: location ids leaf first, values, and for a merged report the process's label. */
static void sample(pprof_t *p, const uint64_t *locs, size_t nlocs, const int64_t *values,
                   size_t nvalues, json_t *proc, int merged, const char *kind)
{
    uint64_t v[8];
    for (size_t i = 0; i < nvalues && i < 8; i++)
        v[i] = (uint64_t)values[i];
    size_t m = pf_proto_begin(&p->samples, PROFILE_SAMPLE);
    pf_proto_packed(&p->samples, SAMPLE_LOCATION_ID, locs, nlocs);
    pf_proto_packed(&p->samples, SAMPLE_VALUE, v, nvalues);
    if (merged) {
        int ranked = json_is_integer(json_object_get(proc, PF_KEY_RANK));
        size_t l = pf_proto_begin(&p->samples, SAMPLE_LABEL);
        pf_proto_int(&p->samples, LABEL_KEY, str_id(p, ranked ? "rank" : "pid"));
        pf_proto_int(&p->samples, LABEL_NUM,
                     pf_json_to_ll(pf_json_num0(proc, ranked ? PF_KEY_RANK : PF_KEY_PID)));
        pf_proto_end(&p->samples, l);
    }
    if (kind) {
        size_t l = pf_proto_begin(&p->samples, SAMPLE_LABEL);
        pf_proto_int(&p->samples, LABEL_KEY, str_id(p, "kind"));
        pf_proto_int(&p->samples, LABEL_STR, str_id(p, kind));
        pf_proto_end(&p->samples, l);
    }
    pf_proto_end(&p->samples, m);
}

/* ---- heap, waits, cpu: locations of the sites' frames ------------------------------------- */

/* A process's call sites for a kind: heap.sites, locks or cpu.sites. */
static json_t *site_list(json_t *proc, pf_pprof_kind_t kind)
{
    if (kind == PF_PPROF_WAITS)
        return json_object_get(proc, PF_KEY_LOCKS);
    json_t *o = json_object_get(proc, kind == PF_PPROF_CPU ? PF_KEY_CPU : PF_KEY_HEAP);
    return json_object_get(o, PF_KEY_SITES);
}

static int is_python(json_t *f)
{
    return !strcmp(pf_json_str(f, PF_KEY_LANGUAGE, ""), "python");
}

/* The mapping of a module path, made on first use. */
static uint64_t mapping_of(pprof_t *p, const char *path)
{
    json_t *id = json_object_get(p->map_ids, path);
    if (id)
        return (uint64_t)json_integer_value(id);
    if (p->nmaps == p->map_cap) {
        size_t c = p->map_cap ? p->map_cap * 2 : 16;
        mapping_t *m = realloc(p->maps, c * sizeof *m);
        if (!m) {
            p->failed = 1;
            return 0;
        }
        p->maps = m;
        p->map_cap = c;
    }
    mapping_t *m = &p->maps[p->nmaps++];
    *m = (mapping_t){.path = path};
    m->is_elf = pf_site_module(path, &m->elf) == 0;
    m->start = m->is_elf && m->elf.executable ? m->elf.link_base
                                              : SYNTHETIC_BASE + (p->nmaps - 1) * SYNTHETIC_STRIDE;
    json_object_set_new_nocheck(p->map_ids, path, json_integer((json_int_t)p->nmaps));
    return p->nmaps;
}

/* The key that makes frames one location: module and offset for native code, else the
 * language, name, file and line. */
static void loc_key(json_t *f, char *key, size_t n)
{
    const char *mod = pf_json_str(f, PF_KEY_MODULE, "");
    double off = pf_json_num(f, PF_KEY_OFFSET);
    if (!is_python(f) && *mod && !isnan(off))
        snprintf(key, n, "n\n%llx\n%s", (unsigned long long)pf_json_to_ll(off), mod);
    else
        snprintf(key, n, "%s\n%s\n%s\n%lld", is_python(f) ? "p" : "s",
                 pf_json_str(f, PF_KEY_SYMBOL, ""), mod,
                 pf_json_to_ll(pf_json_num0(f, PF_KEY_LINE)));
}

/* Every distinct frame of every site, in order of first appearance; its id is its index + 1. */
static void collect_locations(pprof_t *p, json_t *r, pf_pprof_kind_t kind)
{
    for (size_t k = 0; k < pf_json_process_count(r); k++) {
        size_t i, j;
        json_t *s, *f;
        json_array_foreach(site_list(pf_json_process(r, k), kind), i, s)
            json_array_foreach(json_object_get(s, PF_KEY_FRAMES), j, f)
        {
            char key[1100];
            loc_key(f, key, sizeof key);
            if (json_object_get(p->loc_ids, key))
                continue;
            if (p->nlocs == p->loc_cap) {
                size_t c = p->loc_cap ? p->loc_cap * 2 : 64;
                loc_t *l = realloc(p->locs, c * sizeof *l);
                if (!l) {
                    p->failed = 1;
                    return;
                }
                p->locs = l;
                p->loc_cap = c;
            }
            loc_t *l = &p->locs[p->nlocs++];
            *l = (loc_t){.frame = f};
            if (key[0] == 'n') {
                l->src.module = pf_json_str(f, PF_KEY_MODULE, "");
                l->src.offset = (unsigned long long)pf_json_to_ll(pf_json_num(f, PF_KEY_OFFSET));
            }
            json_object_set_new_nocheck(p->loc_ids, key, json_integer((json_int_t)p->nlocs));
        }
    }
}

/* mapping[0] is the main binary by pprof's convention: the module named like the program. */
static void main_mapping_first(pprof_t *p, json_t *r)
{
    const char *prog = pf_json_program_name(pf_json_process(r, 0));
    for (size_t i = 0; i < p->nlocs; i++) {
        const char *mod = p->locs[i].src.module, *base = mod ? strrchr(mod, '/') : NULL;
        if (base && !strcmp(base + 1, prog)) {
            mapping_of(p, mod);
            return;
        }
    }
}

static void write_location(pprof_t *p, size_t i)
{
    loc_t *l = &p->locs[i];
    json_t *f = l->frame;
    const char *sym = pf_json_str(f, PF_KEY_SYMBOL, NULL);
    int named = sym && *sym && strcmp(sym, "??") != 0;
    char name[512];
    const char *file = l->src.file[0] ? l->src.file : NULL;
    long line = l->src.line;
    mapping_t *m = NULL;
    if (l->src.module) {
        l->mapping = mapping_of(p, l->src.module);
        m = l->mapping ? &p->maps[l->mapping - 1] : NULL;
    }
    if (is_python(f)) {
        file = pf_json_str(f, PF_KEY_MODULE, NULL);
        line = (long)pf_json_to_ll(pf_json_num0(f, PF_KEY_LINE));
    }
    if (named)
        snprintf(name, sizeof name, "%s", sym);
    else
        pf_site_frame_text(f, name, sizeof name);
    if (m) {
        m->has_functions |= named;
        m->has_lines |= file != NULL;
        if (l->src.offset > m->max_offset)
            m->max_offset = l->src.offset;
    }
    size_t mk = pf_proto_begin(&p->locations, PROFILE_LOCATION);
    pf_proto_uint(&p->locations, LOCATION_ID, i + 1);
    pf_proto_uint(&p->locations, LOCATION_MAPPING_ID, l->mapping);
    if (m)
        pf_proto_uint(&p->locations, LOCATION_ADDRESS, m->start + l->src.offset);
    size_t ln = pf_proto_begin(&p->locations, LOCATION_LINE);
    pf_proto_uint(&p->locations, LINE_FUNCTION_ID, function_id(p, name, file));
    pf_proto_int(&p->locations, LINE_LINE, line);
    pf_proto_end(&p->locations, ln);
    pf_proto_end(&p->locations, mk);
}

static void write_mappings(pprof_t *p)
{
    for (size_t i = 0; i < p->nmaps; i++) {
        mapping_t *m = &p->maps[i];
        unsigned long long size = m->max_offset + 1;
        if (m->is_elf && m->elf.link_end - m->elf.link_base > size)
            size = m->elf.link_end - m->elf.link_base;
        size_t mk = pf_proto_begin(&p->mappings, PROFILE_MAPPING);
        pf_proto_uint(&p->mappings, MAPPING_ID, i + 1);
        pf_proto_uint(&p->mappings, MAPPING_MEMORY_START, m->start);
        pf_proto_uint(&p->mappings, MAPPING_MEMORY_LIMIT, m->start + size);
        pf_proto_int(&p->mappings, MAPPING_FILENAME, str_id(p, m->path));
        if (m->elf.build_id[0])
            pf_proto_int(&p->mappings, MAPPING_BUILD_ID, str_id(p, m->elf.build_id));
        pf_proto_uint(&p->mappings, MAPPING_HAS_FUNCTIONS, (uint64_t)m->has_functions);
        pf_proto_uint(&p->mappings, MAPPING_HAS_FILENAMES, (uint64_t)m->has_lines);
        pf_proto_uint(&p->mappings, MAPPING_HAS_LINE_NUMBERS, (uint64_t)m->has_lines);
        pf_proto_end(&p->mappings, mk);
    }
}

static int64_t nonneg(double v)
{
    long long x = pf_json_to_ll(v);
    return x > 0 ? x : 0;
}

/* One sample per site of every process; returns the number written. */
static size_t site_samples(pprof_t *p, json_t *r, int merged, pf_pprof_kind_t kind)
{
    size_t written = 0;
    uint64_t locs[130];
    for (size_t k = 0; k < pf_json_process_count(r); k++) {
        json_t *proc = pf_json_process(r, k);
        size_t i, j;
        json_t *s, *f;
        json_array_foreach(site_list(proc, kind), i, s)
        {
            size_t n = 0;
            json_array_foreach(json_object_get(s, PF_KEY_FRAMES), j, f)
            {
                char key[1100];
                loc_key(f, key, sizeof key);
                if (n < sizeof locs / sizeof *locs)
                    locs[n++] = (uint64_t)json_integer_value(json_object_get(p->loc_ids, key));
            }
            if (kind == PF_PPROF_WAITS) {
                int64_t v[2] = {nonneg(pf_json_num0(s, PF_KEY_CONTENDED)),
                                nonneg(pf_json_num0(s, PF_KEY_WAIT_SECONDS) * 1e9)};
                sample(p, locs, n, v, 2, proc, merged, pf_json_str(s, PF_KEY_KIND, "?"));
            } else if (kind == PF_PPROF_CPU) {
                int64_t v[2] = {nonneg(pf_json_num0(s, PF_KEY_SAMPLES)),
                                nonneg(pf_json_num0(s, PF_KEY_SECONDS) * 1e9)};
                sample(p, locs, n, v, 2, proc, merged, NULL);
            } else {
                /* The report keeps live bytes, not live blocks, per site: in-use objects are
                 * the live bytes over the site's mean allocation size. */
                double allocs = pf_json_num0(s, PF_KEY_ALLOCATIONS);
                double bytes = pf_json_num0(s, PF_KEY_BYTES);
                double live = pf_json_num0(s, PF_KEY_LIVE_BYTES);
                int64_t v[4] = {nonneg(allocs), nonneg(bytes),
                                nonneg(bytes > 0 ? live * allocs / bytes : 0), nonneg(live)};
                sample(p, locs, n, v, 4, proc, merged, NULL);
            }
            written++;
        }
    }
    return written;
}

/* Locations, functions and mappings of every site's frames. */
static void site_tables(pprof_t *p, json_t *r, pf_pprof_kind_t kind)
{
    collect_locations(p, r, kind);
    pf_site_source_t *q = calloc(p->nlocs ? p->nlocs : 1, sizeof *q);
    if (q) {
        for (size_t i = 0; i < p->nlocs; i++)
            q[i] = p->locs[i].src;
        pf_site_sources(q, p->nlocs);
        for (size_t i = 0; i < p->nlocs; i++)
            p->locs[i].src = q[i];
        free(q);
    }
    main_mapping_first(p, r);
    for (size_t i = 0; i < p->nlocs; i++)
        write_location(p, i);
    write_mappings(p);
}

static size_t heap_profile(pprof_t *p, pf_proto_t *head, json_t *r, int merged)
{
    value_type(p, head, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
    value_type(p, head, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
    value_type(p, head, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
    value_type(p, head, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
    site_tables(p, r, PF_PPROF_HEAP);
    json_t *heap = json_object_get(pf_json_process(r, 0), PF_KEY_HEAP);
    json_t *sampling = json_object_get(heap, PF_KEY_SAMPLING);
    value_type(p, head, PROFILE_PERIOD_TYPE, "space", "bytes");
    pf_proto_int(head, PROFILE_PERIOD, nonneg(pf_json_num0(sampling, PF_KEY_MEAN_BYTES)));
    const char *est = pf_json_str(sampling, PF_KEY_ESTIMATOR, NULL);
    if (est) {
        char c[300];
        snprintf(c, sizeof c, "heap.sampling: mean %s bytes, %s",
                 pf_text_count(pf_json_num(sampling, PF_KEY_MEAN_BYTES)), est);
        pf_proto_int(head, PROFILE_COMMENT, str_id(p, c));
    }
    return site_samples(p, r, merged, PF_PPROF_HEAP);
}

static size_t waits_profile(pprof_t *p, pf_proto_t *head, json_t *r, int merged)
{
    value_type(p, head, PROFILE_SAMPLE_TYPE, "contentions", "count");
    value_type(p, head, PROFILE_SAMPLE_TYPE, "delay", "nanoseconds");
    site_tables(p, r, PF_PPROF_WAITS);
    json_t *waits = json_object_get(pf_json_process(r, 0), PF_KEY_WAITS);
    if (!waits)
        waits = json_object_get(r, PF_KEY_WAITS);
    value_type(p, head, PROFILE_PERIOD_TYPE, "delay", "nanoseconds");
    pf_proto_int(head, PROFILE_PERIOD, nonneg(pf_json_num0(waits, PF_KEY_SAMPLE_NS)));
    return site_samples(p, r, merged, PF_PPROF_WAITS);
}

static size_t cpu_profile(pprof_t *p, pf_proto_t *head, json_t *r, int merged)
{
    value_type(p, head, PROFILE_SAMPLE_TYPE, "samples", "count");
    value_type(p, head, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
    site_tables(p, r, PF_PPROF_CPU);
    double hz = pf_json_num0(json_object_get(pf_json_process(r, 0), PF_KEY_CPU), PF_KEY_HZ);
    value_type(p, head, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
    pf_proto_int(head, PROFILE_PERIOD, hz > 0 ? nonneg(1e9 / hz) : 0);
    return site_samples(p, r, merged, PF_PPROF_CPU);
}

/* ---- the time profile: the timing tree ---------------------------------------------------- */

/* A timer name's location (and function); ids follow the heap's numbering scheme. */
static uint64_t timer_location(pprof_t *p, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "t\n%s", name);
    json_t *id = json_object_get(p->loc_ids, key);
    if (id)
        return (uint64_t)json_integer_value(id);
    uint64_t lid = ++p->nlocs;
    json_object_set_new_nocheck(p->loc_ids, key, json_integer((json_int_t)lid));
    size_t mk = pf_proto_begin(&p->locations, PROFILE_LOCATION);
    pf_proto_uint(&p->locations, LOCATION_ID, lid);
    size_t ln = pf_proto_begin(&p->locations, LOCATION_LINE);
    pf_proto_uint(&p->locations, LINE_FUNCTION_ID, function_id(p, name, NULL));
    pf_proto_end(&p->locations, ln);
    pf_proto_end(&p->locations, mk);
    return lid;
}

#define TREE_DEPTH 4096

/* path[0..depth) holds the enclosing timers' locations, outermost first; leaf_first is room
 * for the same in pprof's order. */
static size_t time_nodes(pprof_t *p, json_t *nodes, uint64_t *path, uint64_t *leaf_first,
                         size_t depth, json_t *proc, int merged)
{
    size_t i, written = 0;
    json_t *n;
    if (depth >= TREE_DEPTH)
        return 0;
    json_array_foreach(nodes, i, n)
    {
        path[depth] = timer_location(p, pf_json_str(n, PF_KEY_NAME, "?"));
        for (size_t d = 0; d <= depth; d++)
            leaf_first[d] = path[depth - d];
        int64_t v[2] = {nonneg(pf_json_num0(n, PF_KEY_COUNT)),
                        nonneg(pf_json_num0(n, PF_KEY_SELF) * 1e9)};
        sample(p, leaf_first, depth + 1, v, 2, proc, merged, NULL);
        written += 1 + time_nodes(p, json_object_get(n, PF_KEY_CHILDREN), path, leaf_first,
                                  depth + 1, proc, merged);
    }
    return written;
}

static size_t time_profile(pprof_t *p, pf_proto_t *head, json_t *r, int merged)
{
    value_type(p, head, PROFILE_SAMPLE_TYPE, "calls", "count");
    value_type(p, head, PROFILE_SAMPLE_TYPE, "wall", "nanoseconds");
    pf_proto_int(head, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(p, "wall"));
    uint64_t *path = malloc(2 * TREE_DEPTH * sizeof *path);
    size_t written = 0;
    for (size_t k = 0; path && k < pf_json_process_count(r); k++) {
        json_t *proc = pf_json_process(r, k);
        written += time_nodes(p, json_object_get(proc, PF_KEY_TIMING_TREE), path,
                              path + TREE_DEPTH, 0, proc, merged);
    }
    if (!path)
        p->failed = 1;
    free(path);
    return written;
}

/* ---- writing ------------------------------------------------------------------------------ */

static int has_locks(json_t *r)
{
    for (size_t k = 0; k < pf_json_process_count(r); k++)
        if (json_is_array(json_object_get(pf_json_process(r, k), PF_KEY_LOCKS)))
            return 1;
    return 0;
}

static int has_cpu_samples(json_t *r)
{
    for (size_t k = 0; k < pf_json_process_count(r); k++)
        if (pf_json_num0(json_object_get(pf_json_process(r, k), PF_KEY_CPU), PF_KEY_SAMPLES) > 0)
            return 1;
    return 0;
}

int pf_pprof_write(FILE *out, FILE *err, json_t *r, const char *file, pf_pprof_kind_t kind)
{
    if (kind == PF_PPROF_WAITS && !has_locks(r)) {
        pf_text_say(err, "%s: --pprof waits is not available: the report has no lock waits (no "
                         "\"locks\" section: a report of an older pferris)", file);
        return 2;
    }
    if (kind == PF_PPROF_CPU && !has_cpu_samples(r)) {
        pf_text_say(err, "%s: --pprof cpu is not available: the report has no CPU samples "
                         "(PFERRIS_CPU_HZ=0, sampling stood down, or a report of an older "
                         "pferris)", file);
        return 2;
    }
    pprof_t p = {.string_ids = json_object(), .loc_ids = json_object(), .fn_ids = json_object(),
                 .map_ids = json_object()};
    pf_proto_t head = {0}, tail = {0};
    str_id(&p, ""); /* string_table[0] is "" */
    int merged = json_is_array(json_object_get(r, PF_KEY_PROCESSES));
    size_t n = kind == PF_PPROF_HEAP    ? heap_profile(&p, &head, r, merged)
               : kind == PF_PPROF_WAITS ? waits_profile(&p, &head, r, merged)
               : kind == PF_PPROF_CPU   ? cpu_profile(&p, &head, r, merged)
                                        : time_profile(&p, &head, r, merged);
    static const char *const why[] = {
        [PF_PPROF_HEAP] = "no call sites: PFERRIS_SAMPLE=0 or heap tracking off",
        [PF_PPROF_TIME] = "the program used no timer markers",
        [PF_PPROF_WAITS] = "no thread waited on a lock",
        [PF_PPROF_CPU] = "no CPU stacks",
    };
    if (!n)
        pf_text_say(err, "%s: the profile has no samples (%s)", file, why[kind]);
    double start = pf_json_iso_epoch(pf_json_str(pf_json_process(r, 0), PF_KEY_START_TIME, NULL));
    if (isfinite(start))
        pf_proto_int(&tail, PROFILE_TIME_NANOS, pf_json_to_ll(start * 1e9));
    pf_proto_int(&tail, PROFILE_DURATION_NANOS,
                 nonneg(pf_json_num0(r, PF_KEY_TOTAL_ELAPSED) * 1e9));
    char c[600];
    snprintf(c, sizeof c, "pferris %s: %s", PFERRIS_VERSION, file);
    pf_proto_int(&tail, PROFILE_COMMENT, str_id(&p, c));
    pf_proto_t *parts[] = {&head, &p.samples, &p.mappings, &p.locations, &p.functions, &tail,
                           &p.strings};
    int failed = p.failed || !p.string_ids || !p.loc_ids || !p.fn_ids || !p.map_ids;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        failed |= parts[i]->failed;
    int rc = failed ? -1 : pf_gzip_write(out, parts, sizeof parts / sizeof *parts);
    if (rc != 0)
        pf_text_say(err, "%s: cannot write the profile (%s)", file,
                    failed ? "out of memory" : "output error");
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        pf_proto_free(parts[i]);
    json_decref(p.string_ids);
    json_decref(p.loc_ids);
    json_decref(p.fn_ids);
    json_decref(p.map_ids);
    free(p.maps);
    free(p.locs);
    return rc ? 2 : 0;
}
