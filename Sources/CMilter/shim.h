#ifndef VIGIE_CMILTER_SHIM_H
#define VIGIE_CMILTER_SHIM_H
#include <stddef.h>
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
#endif
