import VigieSockets
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.0 responder for Prometheus: `GET /metrics` on a loopback
/// address, one request per connection, on its own thread.
///
/// Deliberately tiny (no HTTP library): it serves one static kind of answer to a
/// scraper every 15 s or so. Anything else gets 404; a client that sends nothing
/// for 5 s is dropped.
final class MetricsServer: @unchecked Sendable {
    // @unchecked: `listener` is set once in init; the serving thread owns every
    // accepted descriptor.
    private let listener: Int32
    private let logger: Logger

    /// Listens (before the privilege drop, with the other sockets: a port taken is
    /// a start-up error); nothing is answered before `start(render:)`.
    init(host: String, port: Int, logger: Logger) throws {
        self.logger = logger
        let fd: Int32
        do {
            fd = try StreamSocket.listen(on: .tcp(host: host, port: port), backlog: 16)
        } catch {
            throw Failure(description: "metrics.listen: cannot listen on \(host):\(port): \(error)")
        }
        listener = fd
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// - Parameter render: the exposition's bytes, made at each scrape.
    func start(render: @escaping @Sendable () -> [UInt8]) {
        let thread = Thread { [self] in
            while true {
                guard let connection = StreamSocket.accept(listener) else {
                    sleep(1)
                    continue
                }
                serve(connection, render)
                close(connection)
            }
        }
        thread.name = "vigie-metrics"
        thread.start()
    }

    private func serve(_ connection: Int32, _ render: () -> [UInt8]) {
        StreamSocket.setTimeouts(connection, receive: .seconds(5), send: .seconds(5))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Read until the end of the request head (or 16 KiB, or the timeout).
        while request.count < 16384 {
            let count = buffer.withUnsafeMutableBytes { read(connection, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            request += buffer[..<count]
            if request.count >= 4, request.suffix(4).elementsEqual([13, 10, 13, 10]) || request.contains(10) { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let response: [UInt8]
        if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            let body = render()
            response = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        } else {
            let body = Array("Vigie serves metrics at /metrics\n".utf8)
            response = Array("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        }
        _ = StreamSocket.writeAll(connection, response)  // a scraper gone mid-answer is its loss
    }
}
