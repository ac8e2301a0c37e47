/*
 * The floor under the Redis store's throughput: what a round trip to redis-server
 * costs the machine when neither side does any work (PING), asked the way the
 * daemon asks, from THREADS threads each blocked in read() on its own unix-socket
 * connection until the answer comes (a milter session's thread waits in its socket,
 * it does not poll an event loop).
 *
 * The Redis store adds two round trips to a message (RCPT, end of message), so on a
 * machine whose cores are saturated the Redis/SQLite throughput ratio cannot exceed
 *     SQLite CPU per message / (SQLite CPU per message + 2 × this floor)
 * however little the scripts and the client code cost (benchmarks/report.py prints
 * it beside the measured ratio).
 *
 *   roundtrip SOCKET THREADS ROUND_TRIPS
 *
 * Prints one JSON object: round trips made, wall seconds, and this process's user and
 * system CPU seconds (getrusage); the server's CPU is read by the caller from /proc.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *socket_path;
static long per_thread;
static const char ping[] = "*1\r\n$4\r\nPING\r\n";

static void *run(void *unused) {
    (void)unused;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(socket_path) >= sizeof address.sun_path) {
        perror("roundtrip: socket");
        exit(1);
    }
    strcpy(address.sun_path, socket_path);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("roundtrip: connect");
        exit(1);
    }
    char answer[64];
    for (long i = 0; i < per_thread; i++) {
        if (write(fd, ping, sizeof ping - 1) != (ssize_t)(sizeof ping - 1)) {
            perror("roundtrip: write");
            exit(1);
        }
        /* "+PONG\r\n" arrives in one segment on a unix socket. */
        ssize_t got = read(fd, answer, sizeof answer);
        if (got != 7 || memcmp(answer, "+PONG\r\n", 7) != 0) {
            fprintf(stderr, "roundtrip: unexpected answer (%zd bytes)\n", got);
            exit(1);
        }
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: roundtrip SOCKET THREADS ROUND_TRIPS\n");
        return 2;
    }
    socket_path = argv[1];
    int threads = atoi(argv[2]);
    long total = atol(argv[3]);
    if (threads < 1 || threads > 1024 || total < threads) {
        fprintf(stderr, "roundtrip: THREADS must be 1-1024 and ROUND_TRIPS at least THREADS\n");
        return 2;
    }
    per_thread = total / threads;
    pthread_t *workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL) {
        perror("roundtrip: calloc");
        return 1;
    }
    struct timespec started, ended;
    clock_gettime(CLOCK_MONOTONIC, &started);
    for (int i = 0; i < threads; i++) pthread_create(&workers[i], NULL, run, NULL);
    for (int i = 0; i < threads; i++) pthread_join(workers[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &ended);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("{\"threads\": %d, \"round_trips\": %ld, \"seconds\": %.6f, \"user_seconds\": %.6f, \"system_seconds\": %.6f}\n",
           threads, per_thread * threads,
           (double)(ended.tv_sec - started.tv_sec) + (double)(ended.tv_nsec - started.tv_nsec) / 1e9,
           (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6,
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6);
    free(workers);
    return 0;
}
