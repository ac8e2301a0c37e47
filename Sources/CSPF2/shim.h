#ifndef VIGIE_CSPF2_SHIM_H
#define VIGIE_CSPF2_SHIM_H
// libspf2's headers need the socket types first.
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <spf2/spf.h>
#endif
