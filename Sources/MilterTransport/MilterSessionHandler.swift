/// One SMTP connection as a filter sees it. The transport creates one per
/// connection (lazily, at the first callback) and drops it at close.
///
/// libmilter calls a connection's callbacks one at a time, but not always on the
/// same thread: a handler may keep per-connection state without locks, and must
/// not share it with other connections.
public protocol MilterSessionHandler: AnyObject {
    func connect(hostname: String, context: MilterContext) -> MilterResponse
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
    public func connect(hostname: String, context: MilterContext) -> MilterResponse { .continue }
    public func data(context: MilterContext) -> MilterResponse { .continue }
}
