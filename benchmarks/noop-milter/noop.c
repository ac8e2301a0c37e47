/*
 * noop-milter: the floor any libmilter-based filter can reach here. Every callback
 * exists and answers "continue", so the MTA sends every stage and waits for every
 * reply (no SMFIP_NO* nor SMFIP_NR_* is negotiated): the cost of libmilter and of
 * the round trips themselves, with no filtering work.
 *
 *   cc -O2 -o noop-milter noop.c -lmilter -lpthread
 *   noop-milter unix:/path/to.sock | inet:PORT@127.0.0.1
 *
 * Built with -DVIGIE_STAGES it registers only the callbacks Vigie uses (RCPT, end of
 * message): libmilter then negotiates every other stage away, so it is the floor for
 * a filter doing Vigie's round trips.
 *
 * Stops on SIGTERM (libmilter's own signal thread).
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static sfsistat noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr) { return SMFIS_CONTINUE; }
static sfsistat noop_helo(SMFICTX *ctx, char *helo) { return SMFIS_CONTINUE; }
static sfsistat noop_envfrom(SMFICTX *ctx, char **argv) { return SMFIS_CONTINUE; }
static sfsistat noop_envrcpt(SMFICTX *ctx, char **argv) { return SMFIS_CONTINUE; }
static sfsistat noop_data(SMFICTX *ctx) { return SMFIS_CONTINUE; }
static sfsistat noop_header(SMFICTX *ctx, char *name, char *value) { return SMFIS_CONTINUE; }
static sfsistat noop_eoh(SMFICTX *ctx) { return SMFIS_CONTINUE; }
static sfsistat noop_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { return SMFIS_CONTINUE; }
static sfsistat noop_eom(SMFICTX *ctx) { return SMFIS_CONTINUE; }
static sfsistat noop_abort(SMFICTX *ctx) { return SMFIS_CONTINUE; }
static sfsistat noop_close(SMFICTX *ctx) { return SMFIS_CONTINUE; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s unix:/path | inet:PORT@127.0.0.1\n", argv[0]);
        return 2;
    }
    struct smfiDesc desc;
    memset(&desc, 0, sizeof desc);
    desc.xxfi_name = "noop";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = 0;
    desc.xxfi_envrcpt = noop_envrcpt;
    desc.xxfi_eom = noop_eom;
    desc.xxfi_abort = noop_abort;
    desc.xxfi_close = noop_close;
#ifndef VIGIE_STAGES
    desc.xxfi_connect = noop_connect;
    desc.xxfi_envfrom = noop_envfrom;
    desc.xxfi_helo = noop_helo;
    desc.xxfi_header = noop_header;
    desc.xxfi_eoh = noop_eoh;
    desc.xxfi_body = noop_body;
    desc.xxfi_data = noop_data;
#endif

    umask(0); /* the socket must be reachable by Postfix's unprivileged smtpd */
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(desc) == MI_FAILURE ||
        smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "noop-milter: cannot set up %s\n", argv[1]);
        return 1;
    }
    printf("noop-milter: listening on %s\n", argv[1]);
    fflush(stdout);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
