#ifndef VIGIE_CMILTER_SHIM_H
#define VIGIE_CMILTER_SHIM_H
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

// smfi_setmlreply is variadic, which Swift cannot call: this wrapper takes an array of
// up to 32 lines (libmilter's own limit) and passes them NULL-terminated.
static inline int vigie_smfi_setmlreply(SMFICTX *ctx, const char *rcode, const char *xcode,
                                        const char *const *lines, int count) {
    const char *l[33] = {0};
    if (count < 1 || count > 32) return MI_FAILURE;
    for (int i = 0; i < count; i++) l[i] = lines[i];
    return smfi_setmlreply(ctx, rcode, xcode, l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7],
                           l[8], l[9], l[10], l[11], l[12], l[13], l[14], l[15], l[16], l[17],
                           l[18], l[19], l[20], l[21], l[22], l[23], l[24], l[25], l[26], l[27],
                           l[28], l[29], l[30], l[31], (const char *)NULL);
}

// libmilter exports mi_stop() (0 while serving, set by its signal thread on SIGTERM)
// without declaring it in mfapi.h; it is the only way to learn that a stop began.
int mi_stop(void);

// The wake-up for libmilter's listener (MilterServer.run): a handler that does
// nothing, installed without SA_RESTART, so the signal only ends the listener's
// poll() with EINTR. A C function because a signal handler must not touch Swift's
// runtime.
static void vigie_milter_wakeup(int sig) { (void)sig; }
static inline int vigie_install_milter_wakeup(int sig) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = vigie_milter_wakeup;
    sigemptyset(&action.sa_mask);
    return sigaction(sig, &action, NULL);
}
#endif
