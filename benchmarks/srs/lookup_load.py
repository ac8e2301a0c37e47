#!/usr/bin/env python3
"""Lookups per second against a tcp_table or socketmap server.

Each client process keeps one connection open (as Postfix does) and sends
sequential forward lookups for distinct senders, reading each answer before the
next request. Prints: lookups, seconds, lookups/s.
"""
import multiprocessing, socket, sys, time

def worker(kind, port, count, offset, queue):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    ok = 0
    for i in range(count):
        key = "sender%d.n%d@domain%d.example" % (offset, i, i % 50)
        if kind == "tcp":
            s.sendall(b"get " + key.encode() + b"\n")
            line = f.readline()
            ok += line.startswith(b"200 ")
        else:
            payload = b"forward " + key.encode()
            s.sendall(b"%d:%s," % (len(payload), payload))
            length = b""
            while True:
                c = f.read(1)
                if c == b":":
                    break
                length += c
            body = f.read(int(length) + 1)
            ok += body.startswith(b"OK ")
    queue.put(ok)

def main():
    kind, port, clients, per_client = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(kind, port, per_client, n, queue)) for n in range(clients)]
    start = time.monotonic()
    for p in procs: p.start()
    for p in procs: p.join()
    elapsed = time.monotonic() - start
    ok = sum(queue.get() for _ in procs)
    total = clients * per_client
    if ok != total:
        print("warning: %d of %d lookups were not rewrites" % (total - ok, total), file=sys.stderr)
    print("%d lookups in %.2f s: %.0f lookups/s" % (total, elapsed, total / elapsed))

if __name__ == "__main__":
    main()
