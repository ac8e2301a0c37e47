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
 * Built with -DVIGIE_INBOUND_STAGES it negotiates what `vigie --role inbound` does
 * (connect, HELO, headers, end of headers and body sent without a reply; RCPT, DATA
 * and unknown commands not sent; a reply at MAIL and at end of message) and inserts
 * two header fields of the sizes Vigie adds (Authentication-Results, Received-SPF; named
 * X-Noop-* so that the benchmark's count of verified mail never takes them for Vigie's)
 * at end of message: the floor of the inbound role's protocol work, with no checking.
 *
 * Built with -DVIGIE_SIGN_STAGES it negotiates what the submission role does when it
 * also signs ([dkim.sign] in the same process): RCPT and end of message answered,
 * headers, end of headers and body sent without a reply: the floor of signing inside
 * the submission milter, with no signing.
 *
 * Stops on SIGTERM (libmilter's own signal thread).
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((unused)) static sfsistat noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_helo(SMFICTX *ctx, char *helo) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_envfrom(SMFICTX *ctx, char **argv) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_envrcpt(SMFICTX *ctx, char **argv) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_data(SMFICTX *ctx) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_header(SMFICTX *ctx, char *name, char *value) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_eoh(SMFICTX *ctx) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_eom(SMFICTX *ctx) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_abort(SMFICTX *ctx) { return SMFIS_CONTINUE; }
__attribute__((unused)) static sfsistat noop_close(SMFICTX *ctx) { return SMFIS_CONTINUE; }

#ifdef VIGIE_INBOUND_STAGES
static sfsistat in_noreply(SMFICTX *ctx) { return SMFIS_NOREPLY; }
static sfsistat in_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr) { return SMFIS_NOREPLY; }
static sfsistat in_helo(SMFICTX *ctx, char *helo) { return SMFIS_NOREPLY; }
static sfsistat in_header(SMFICTX *ctx, char *name, char *value) { return SMFIS_NOREPLY; }
static sfsistat in_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { return SMFIS_NOREPLY; }
static sfsistat in_eom(SMFICTX *ctx) {
    smfi_insheader(ctx, 0, "X-Noop-Received", "pass (noop.bench.test: domain of alice@vigie-bench.example "
        "designates 127.0.0.1 as permitted sender)\n\tclient-ip=127.0.0.1; envelope-from=\"alice@vigie-bench.example\"; "
        "helo=mail.vigie-bench.example; receiver=vigie.bench.test; identity=mailfrom;");
    smfi_insheader(ctx, 0, "X-Noop-Results-Here", "noop.bench.test;\n\tspf=pass smtp.mailfrom=alice@vigie-bench.example;"
        "\n\tdkim=pass (2048-bit key) header.d=vigie-bench.example header.i=@vigie-bench.example header.a=rsa-sha256 "
        "header.s=bench header.b=dMyuvpaA");
    return SMFIS_CONTINUE;
}
static sfsistat in_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3) {
    *pf0 = SMFIF_ADDHDRS;
    *pf1 = f1 & (SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR |
                 SMFIP_NR_EOH | SMFIP_NR_BODY);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}
#endif

#ifdef VIGIE_SIGN_STAGES
static sfsistat sign_noreply(SMFICTX *ctx) { return SMFIS_NOREPLY; }
static sfsistat sign_header(SMFICTX *ctx, char *name, char *value) { return SMFIS_NOREPLY; }
static sfsistat sign_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { return SMFIS_NOREPLY; }
static sfsistat sign_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
                               unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3) {
    *pf0 = SMFIF_ADDHDRS | SMFIF_QUARANTINE;
    *pf1 = f1 & (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NOUNKNOWN | SMFIP_NODATA |
                 SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}
#endif

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
#if defined(VIGIE_INBOUND_STAGES)
    desc.xxfi_name = "noop-inbound";
    desc.xxfi_flags = SMFIF_ADDHDRS;
    desc.xxfi_envrcpt = NULL;
    desc.xxfi_connect = in_connect;
    desc.xxfi_helo = in_helo;
    desc.xxfi_envfrom = noop_envfrom;
    desc.xxfi_header = in_header;
    desc.xxfi_eoh = in_noreply;
    desc.xxfi_body = in_body;
    desc.xxfi_eom = in_eom;
    desc.xxfi_negotiate = in_negotiate;
#elif defined(VIGIE_SIGN_STAGES)
    desc.xxfi_name = "noop-sign";
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_QUARANTINE;
    desc.xxfi_header = sign_header;
    desc.xxfi_eoh = sign_noreply;
    desc.xxfi_body = sign_body;
    desc.xxfi_negotiate = sign_negotiate;
#elif !defined(VIGIE_STAGES)
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
