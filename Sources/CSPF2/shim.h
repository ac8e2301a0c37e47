#ifndef VIGIE_CSPF2_SHIM_H
#define VIGIE_CSPF2_SHIM_H
// libspf2's headers need the socket types first.
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <spf2/spf.h>

// Swift 6 cannot assign a C global under strict concurrency; this sets libspf2's
// process-wide message handlers (error, then warning/info/debug) in one call.
static inline void vigie_spf_set_handlers(void (*error_handler)(const char *, int, const char *),
                                          void (*other_handler)(const char *, int, const char *)) {
    SPF_error_handler = (void (*)(const char *, int, const char *))error_handler;
    SPF_warning_handler = other_handler;
    SPF_info_handler = other_handler;
    SPF_debug_handler = other_handler;
}
#endif
