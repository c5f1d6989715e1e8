#ifndef CJANSSON_SHIM_H
#define CJANSSON_SHIM_H
#include <jansson.h>

// jansson's type tests, reference counting and iteration are macros or static inline functions
// with macro arguments; these typed helpers give Swift one function each.
static inline int CJansson_typeof(const json_t *v) { return (int)json_typeof(v); }
static inline void CJansson_decref(json_t *v) { json_decref(v); }
static inline json_t *CJansson_incref(json_t *v) { return json_incref(v); }
static inline int CJansson_is_true(const json_t *v) { return json_is_true(v); }

// json_object_foreach is a macro; iteration in Swift uses these.
static inline void *CJansson_object_iter(json_t *o) { return json_object_iter(o); }
static inline void *CJansson_object_iter_next(json_t *o, void *it) { return json_object_iter_next(o, it); }
static inline const char *CJansson_object_iter_key(void *it) { return json_object_iter_key(it); }
static inline size_t CJansson_object_iter_key_len(void *it) { return json_object_iter_key_len(it); }
static inline json_t *CJansson_object_iter_value(void *it) { return json_object_iter_value(it); }

static inline size_t CJansson_flags_reject_duplicates_decode_any(void) {
    return JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL;
}

#endif
