/*
 * validator_int.h — the compiled form of a JSON Schema, shared by the compiler
 * (validator.c) and the evaluator (validator_eval.c). Private to src/schema.
 *
 * A compiled schema is a graph of sc_node, one per schema object or boolean
 * reached from the root (subschemas, $defs, $ref targets). $ref edges are plain
 * pointers, so recursive schemas are cycles in the graph. Everything (nodes,
 * strings, the copied schema text and its parsed tl_json tree) lives in one
 * arena owned by the tl_schema and freed with it; compiled regexes are the only
 * objects outside it (freed from the list in tl_schema).
 */
#ifndef TL_SCHEMA_VALIDATOR_INT_H
#define TL_SCHEMA_VALIDATOR_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "schema/schema.h"

/* Type bits: "integer" is its own bit; a number that is integral matches either. */
enum {
    SC_T_NULL = 1u << 0,
    SC_T_BOOLEAN = 1u << 1,
    SC_T_INTEGER = 1u << 2,
    SC_T_NUMBER = 1u << 3,
    SC_T_STRING = 1u << 4,
    SC_T_ARRAY = 1u << 5,
    SC_T_OBJECT = 1u << 6,
};

/* Which keyword groups a node carries, so the evaluator skips absent ones with one test. */
enum {
    SC_F_TYPE = 1u << 0,
    SC_F_ENUM = 1u << 1,
    SC_F_CONST = 1u << 2,
    SC_F_MINIMUM = 1u << 3,
    SC_F_MAXIMUM = 1u << 4,
    SC_F_XMINIMUM = 1u << 5,
    SC_F_XMAXIMUM = 1u << 6,
    SC_F_MULTIPLE = 1u << 7,
    SC_F_STRING = 1u << 8,   /* minLength, maxLength or pattern */
    SC_F_ARRAY = 1u << 9,    /* any array keyword */
    SC_F_OBJECT = 1u << 10,  /* any object keyword */
    SC_F_INPLACE = 1u << 11, /* allOf/anyOf/oneOf/not/if/$ref/$dynamicRef */
    SC_F_META = 1u << 12,    /* $ref to the draft 2020-12 meta-schema: "is a valid schema" */
    SC_F_NUMBER = SC_F_MINIMUM | SC_F_MAXIMUM | SC_F_XMINIMUM | SC_F_XMAXIMUM | SC_F_MULTIPLE,
};

typedef struct sc_node sc_node;
typedef struct sc_resource sc_resource;

typedef struct {
    const char *name;
    sc_node *node;
} sc_anchor;

/* A schema resource (the root or a subschema with $id): the unit of dynamic scope. */
struct sc_resource {
    const char *uri;
    sc_anchor *dyn; /* its $dynamicAnchor subschemas */
    uint32_t n_dyn;
};

typedef struct {
    pcre2_code *code;
    const char *src; /* the pattern as written, for messages */
} sc_regex;

/* One known property name of an object schema: from properties, required, dependentRequired
 * or dependentSchemas. Found by hash in kt (open addressing, power-of-two size). */
typedef struct {
    const char *key;
    uint32_t len;
    uint32_t required : 1;
    uint64_t hash;
    sc_node *schema;      /* from properties, or NULL */
    sc_node *dep_schema;  /* from dependentSchemas, or NULL */
    const uint32_t *deps; /* dependentRequired: indices of keys required when this is present */
    uint32_t n_deps;
} sc_key;

typedef struct {
    sc_regex re;
    sc_node *schema;
} sc_pattern_prop;

struct sc_node {
    uint32_t flags;
    int8_t boolean; /* 1 true schema, 0 false schema, -1 an object schema */
    uint8_t types;  /* SC_T_* */
    uint8_t unique_items;
    uint8_t dyn_ref_dynamic; /* $dynamicRef whose initial target bears the matching anchor */
    const char *path;        /* JSON pointer of this schema within its document, "" for root */
    sc_resource *resource;

    double minimum, maximum, xminimum, xmaximum, multiple_of;

    uint32_t min_length, max_length; /* max_length UINT32_MAX when absent */
    sc_regex *pattern;

    const tl_json *enum_vals; /* the enum array */
    const tl_json *const_val;
    const char *enum_text; /* compact JSON of enum/const, for messages */
    const char *const_text;

    /* arrays */
    uint32_t min_items, max_items;
    uint32_t min_contains, max_contains;
    uint32_t n_prefix;
    sc_node **prefix;
    sc_node *items, *contains, *uneval_items;

    /* objects */
    uint32_t min_props, max_props;
    sc_key *keys; /* known keys in schema order */
    uint32_t n_keys;
    uint32_t *kt; /* hash table of key index + 1; 0 is empty */
    uint32_t kt_mask;
    uint32_t n_required;
    uint32_t n_props; /* how many keys have a properties schema */
    uint32_t has_deps;
    sc_pattern_prop *pprops;
    uint32_t n_pprops;
    sc_node *additional, *property_names, *uneval_props;

    /* in-place applicators */
    sc_node **all_of, **any_of, **one_of;
    uint32_t n_all_of, n_any_of, n_one_of;
    sc_node *not_, *if_, *then_, *else_;
    sc_node *ref;
    sc_node *dyn_ref;
    const char *dyn_name; /* the anchor name of a dynamic $dynamicRef */
};

struct tl_schema {
    tl_arena *arena;
    sc_node *root;
    sc_resource *root_resource;
    pcre2_code **codes; /* every compiled regex, freed with the schema */
    uint32_t n_codes, cap_codes;
};

/* validator.c: compiles a parsed document (kept in a) into s; msg gets the reason on error. */
int tl_schema__compile_tree(tl_schema *s, const tl_json *doc, char *err, size_t errlen);
/* validator_eval.c: deep equality of JSON values (numbers by value, objects unordered). */
bool tl_schema__json_equal(const tl_json *a, const tl_json *b);

#endif
