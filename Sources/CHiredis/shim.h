#ifndef VIGIE_CHIREDIS_SHIM_H
#define VIGIE_CHIREDIS_SHIM_H
// No wrapper needed: VigieRedis calls only hiredis's non-variadic API
// (redisCommandArgv, redisAppendCommandArgv, redisGetReply), never redisCommand's
// format strings, so that no user data is ever read as a format.
#include <sys/time.h>
#include <hiredis/hiredis.h>
#endif
