/// One SMTP connection as a filter sees it. The transport creates one per
/// connection (lazily, at the first callback) and drops it at close.
///
/// libmilter calls a connection's callbacks one at a time, but not always on the
/// same thread: a handler may keep per-connection state without locks, and must
/// not share it with other connections.
public protocol MilterSessionHandler: AnyObject {
    func connect(hostname: String, context: MilterContext) -> MilterResponse
    /// Connect with the client's address as text ("192.0.2.1", "2001:db8::1"), nil
    /// when the MTA gave none (local submission, unknown family). By default calls
    /// `connect(hostname:context:)`.
    func connect(hostname: String, clientAddress: String?, context: MilterContext) -> MilterResponse
    /// HELO/EHLO with the name the client gave.
    func helo(name: String, context: MilterContext) -> MilterResponse
    /// Whether the header fields and body chunks of the message in progress are still
    /// wanted. When false, they are answered "continue" without being turned into
    /// Swift values at all (a negotiated stage is still sent by the MTA; this spares
    /// the copies for a message the handler is done with). True by default.
    var wantsMessageContent: Bool { get }
    /// One header field: its name and its value as sent (folding kept, no final CRLF).
    func header(name: String, value: String, context: MilterContext) -> MilterResponse
    func endOfHeaders(context: MilterContext) -> MilterResponse
    /// One chunk of the body (CRLF line ends, at most one milter packet).
    func body(chunk: [UInt8], context: MilterContext) -> MilterResponse
    func envelopeFrom(arguments: [String], context: MilterContext) -> MilterResponse
    func envelopeRecipient(arguments: [String], context: MilterContext) -> MilterResponse
    func data(context: MilterContext) -> MilterResponse
    func endOfMessage(context: MilterContext) -> MilterResponse
    /// The transaction ended without end of message (RSET, QUIT, a refusal): forget it.
    func abort(context: MilterContext)
    /// The connection closed; nothing more will be called.
    func close()
}

extension MilterSessionHandler {
    public var wantsMessageContent: Bool { true }
    public func connect(hostname: String, context: MilterContext) -> MilterResponse { .continue }
    public func data(context: MilterContext) -> MilterResponse { .continue }
    public func envelopeFrom(arguments: [String], context: MilterContext) -> MilterResponse { .continue }
    public func connect(hostname: String, clientAddress: String?, context: MilterContext) -> MilterResponse {
        connect(hostname: hostname, context: context)
    }
    public func helo(name: String, context: MilterContext) -> MilterResponse { .continue }
    public func header(name: String, value: String, context: MilterContext) -> MilterResponse { .continue }
    public func endOfHeaders(context: MilterContext) -> MilterResponse { .continue }
    public func body(chunk: [UInt8], context: MilterContext) -> MilterResponse { .continue }
}
