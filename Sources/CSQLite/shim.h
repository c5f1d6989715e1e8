#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it.
static inline sqlite3_destructor_type CSQLite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_config is variadic: typed wrappers for the options we set.
static inline int CSQLite_config_multithread(void) { return sqlite3_config(SQLITE_CONFIG_MULTITHREAD); }

#endif
