// Debian's libpq-dev puts libpq-fe.h in /usr/include/postgresql; other systems in the
// include path itself.
#if __has_include(<postgresql/libpq-fe.h>)
#include <postgresql/libpq-fe.h>
#else
#include <libpq-fe.h>
#endif
