internal import CMilter
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// libmilter glue: the C callbacks (trampolines) that find a connection's Swift
/// handler and call it.
///
/// Hazard: nothing may throw or trap across these `@convention(c)` functions. A
/// crash here drops every live SMTP session and Postfix defers all mail, so each
/// trampoline only converts arguments, calls Swift and converts the answer.
/// Handlers own their error handling (they know whether a 4xx is safe to send).
enum MilterRegistration {
    /// What `install` registered; a class so it can be published once, atomically.
    final class Installed: Sendable {
        let configuration: MilterServer.Configuration
        let negotiation: Negotiation

        init(configuration: MilterServer.Configuration, negotiation: Negotiation) {
            self.configuration = configuration
            self.negotiation = negotiation
        }
    }

    /// What makes each connection's handler, given by `MilterServer.run(sessions:)`:
    /// registration and the socket come first (as root, before the daemon has built
    /// what its sessions use), the handlers only once it serves.
    final class Sessions: Sendable {
        let make: @Sendable () -> any MilterSessionHandler
        init(_ make: @escaping @Sendable () -> any MilterSessionHandler) { self.make = make }
    }

    /// What xxfi_negotiate answers, worked out once at install: it is asked again on
    /// every connection, and building the flag tables and macro strings there each
    /// time was as costly as a policy decision (callgrind).
    struct Negotiation: @unchecked Sendable {
        /// SMFIP_* flags: stages declined (`NO*`) and stages not answered (`NR_*`).
        let steps: UInt
        /// SMFIF_* actions, plus SMFIF_SETSYMLIST to ask for macros per stage.
        let actions: UInt
        /// Space-separated macro names per SMFIM_* stage, as C strings that live for
        /// the process (libmilter copies them; they are never written).
        let macroLists: [(stage: Int32, names: UnsafeMutablePointer<CChar>)]

        init(_ configuration: MilterServer.Configuration) {
            let stageFlags: [(MilterStage, UInt)] = [
                (.connect, UInt(SMFIP_NOCONNECT)), (.helo, UInt(SMFIP_NOHELO)), (.envelopeFrom, UInt(SMFIP_NOMAIL)),
                (.envelopeRecipient, UInt(SMFIP_NORCPT)), (.data, UInt(SMFIP_NODATA)), (.header, UInt(SMFIP_NOHDRS)),
                (.endOfHeaders, UInt(SMFIP_NOEOH)), (.body, UInt(SMFIP_NOBODY)),
            ]
            let noReplyFlags: [(MilterStage, UInt)] = [
                (.connect, UInt(SMFIP_NR_CONN)), (.helo, UInt(SMFIP_NR_HELO)), (.envelopeFrom, UInt(SMFIP_NR_MAIL)),
                (.envelopeRecipient, UInt(SMFIP_NR_RCPT)), (.data, UInt(SMFIP_NR_DATA)), (.header, UInt(SMFIP_NR_HDR)),
                (.endOfHeaders, UInt(SMFIP_NR_EOH)), (.body, UInt(SMFIP_NR_BODY)),
            ]
            var steps: UInt = UInt(SMFIP_NOUNKNOWN)
            for (stage, flag) in stageFlags where !configuration.stages.contains(stage) { steps |= flag }
            for (stage, flag) in noReplyFlags
            where configuration.noReplyStages.contains(stage) && configuration.stages.contains(stage) {
                steps |= flag
            }
            self.steps = steps
            self.actions = UInt(configuration.actions.rawValue) | UInt(SMFIF_SETSYMLIST)
            self.macroLists = configuration.macros
                .sorted { $0.key.rawValue < $1.key.rawValue }
                .map { (stage: $0.key.rawValue, names: MilterRegistration.strdupName($0.value.joined(separator: " "))) }
        }
    }

    /// Set once before `smfi_main` starts any thread; read by every new connection's
    /// first callback and its negotiation. Set-once and lock-free: behind a mutex it
    /// was the daemon's hottest lock at 64 connections (perf). An `Atomic` of an
    /// unmanaged reference rather than `AtomicLazyReference`, whose `load` is not
    /// inlined (a generic call into the Synchronization library: 640 instructions a
    /// connection, callgrind). The one value stored is retained for the process.
    private static let installed = Atomic<Unmanaged<Installed>?>(nil)

    static var current: Installed? { installed.load(ordering: .acquiring)?.takeUnretainedValue() }

    /// Set once by `serve`, before `smfi_main` accepts the first connection; read
    /// at every connection's first callback (an `Atomic` as `installed`, for the
    /// same reason). The one value stored is retained for the process.
    private static let servedSessions = Atomic<Unmanaged<Sessions>?>(nil)

    static var sessions: Sessions? { servedSessions.load(ordering: .acquiring)?.takeUnretainedValue() }

    /// The stages negotiated as "no reply" (`MilterStage.noReplyBit`), read on every
    /// callback of those stages without taking the mutex.
    static let noReplyStages = Atomic<UInt>(0)

    /// The answer libmilter needs for a stage's callback: `SMFIS_NOREPLY` for a stage
    /// negotiated as "no reply" (the MTA reads no answer, and one sent anyway would be
    /// read as the answer to its next command), the handler's answer otherwise.
    /// libmilter itself turns NOREPLY into CONTINUE for an MTA that did not accept
    /// the flag.
    static func answer(_ stage: MilterStage, _ response: MilterResponse, _ ctx: OpaquePointer) -> sfsistat {
        if noReplyStages.load(ordering: .relaxed) & stage.noReplyBit != 0 { return SMFIS_NOREPLY }
        return status(response, ctx)
    }

    static func install(configuration: MilterServer.Configuration) throws {
        let retained = Unmanaged.passRetained(Installed(configuration: configuration, negotiation: Negotiation(configuration)))
        guard installed.compareExchange(expected: nil, desired: retained, ordering: .acquiringAndReleasing).exchanged else {
            retained.release()
            throw MilterError.alreadyRegistered
        }
        let noReply = configuration.noReplyStages.intersection(configuration.stages)
        noReplyStages.store(noReply.reduce(0) { $0 | $1.noReplyBit }, ordering: .relaxed)
        var description = smfiDesc()
        description.xxfi_name = strdupName(configuration.name)
        description.xxfi_version = SMFI_VERSION
        description.xxfi_flags = UInt(configuration.actions.rawValue) | UInt(SMFIF_SETSYMLIST)
        let stages = configuration.stages
        if stages.contains(.connect) { description.xxfi_connect = milterConnect }
        if stages.contains(.helo) { description.xxfi_helo = milterHelo }
        if stages.contains(.envelopeFrom) { description.xxfi_envfrom = milterEnvelopeFrom }
        if stages.contains(.envelopeRecipient) { description.xxfi_envrcpt = milterEnvelopeRecipient }
        if stages.contains(.data) { description.xxfi_data = milterData }
        if stages.contains(.header) { description.xxfi_header = milterHeader }
        if stages.contains(.endOfHeaders) { description.xxfi_eoh = milterEndOfHeaders }
        if stages.contains(.body) { description.xxfi_body = milterBody }
        if stages.contains(.endOfMessage) { description.xxfi_eom = milterEndOfMessage }
        description.xxfi_abort = milterAbort
        description.xxfi_close = milterClose
        description.xxfi_negotiate = milterNegotiate
        guard smfi_register(description) == MI_SUCCESS else {
            throw MilterError.callFailed("smfi_register", detail: "libmilter refused the filter description")
        }
    }

    /// libmilter keeps the name pointer for the life of the process.
    fileprivate static func strdupName(_ name: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(name.utf8CString)
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        pointer.initialize(from: bytes, count: bytes.count)
        return pointer
    }

    static var configuration: MilterServer.Configuration? { current?.configuration }

    /// The handler factory for every connection from now on; once per process.
    static func serve(_ make: @escaping @Sendable () -> any MilterSessionHandler) throws {
        let retained = Unmanaged.passRetained(Sessions(make))
        guard servedSessions.compareExchange(expected: nil, desired: retained, ordering: .acquiringAndReleasing).exchanged else {
            retained.release()
            throw MilterError.alreadyRegistered
        }
    }
}

/// What `smfi_setpriv` holds for a connection: its handler, already as the
/// existential the callbacks call. Keeping the handler itself there (as AnyObject)
/// made every callback cast it back with `as! any MilterSessionHandler`, a dynamic
/// cast through the runtime's conformance lookup, fifteen times a message.
private final class HandlerBox {
    let handler: any MilterSessionHandler
    init(_ handler: any MilterSessionHandler) { self.handler = handler }
}

/// The handler of a connection, created at its first callback.
private func handler(_ ctx: OpaquePointer?) -> (any MilterSessionHandler)? {
    guard let ctx else { return nil }
    if let raw = smfi_getpriv(ctx) {
        return Unmanaged<HandlerBox>.fromOpaque(raw).takeUnretainedValue().handler
    }
    guard let make = MilterRegistration.sessions?.make else { return nil }
    let made = make()
    smfi_setpriv(ctx, Unmanaged.passRetained(HandlerBox(made)).toOpaque())
    return made
}

fileprivate func status(_ response: MilterResponse, _ ctx: OpaquePointer) -> sfsistat {
    let context = MilterContext(ctx)
    switch response {
    case .continue: return SMFIS_CONTINUE
    case .accept: return SMFIS_ACCEPT
    case .reject(let text):
        if let text { context.setReply(text) }
        return SMFIS_REJECT
    case .tempfail(let text):
        if let text { context.setReply(text) }
        return SMFIS_TEMPFAIL
    }
}

private func arguments(_ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    guard let argv else { return [] }
    var out: [String] = []
    var index = 0
    while let argument = argv[index] {
        out.append(String(cString: argument))
        index += 1
    }
    return out
}

private let milterConnect: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<sockaddr>?) -> sfsistat = { ctx, hostname, address in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    let name = hostname.map { String(cString: $0) } ?? ""
    return MilterRegistration.answer(.connect, session.connect(hostname: name, clientAddress: numericAddress(address), context: MilterContext(ctx)), ctx)
}

/// The client address as text (inet_ntop), or nil for a missing address or a
/// family other than IPv4/IPv6 (libmilter passes AF_UNIX for local sessions).
private func numericAddress(_ address: UnsafeMutablePointer<sockaddr>?) -> String? {
    guard let address else { return nil }
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    let family = Int32(address.pointee.sa_family)
    // Read inside the closure, through the pointer inet_ntop returns into the buffer
    // (NUL-terminated ASCII): no copy of the buffer per connection.
    return buffer.withUnsafeMutableBufferPointer { out -> String? in
        let converted: UnsafePointer<CChar>? = switch family {
        case AF_INET:
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                withUnsafePointer(to: sin.pointee.sin_addr) { inet_ntop(AF_INET, $0, out.baseAddress, socklen_t(out.count)) }
            }
        case AF_INET6:
            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                withUnsafePointer(to: sin6.pointee.sin6_addr) { inet_ntop(AF_INET6, $0, out.baseAddress, socklen_t(out.count)) }
            }
        default:
            nil
        }
        return converted.map { String(cString: $0) }
    }
}

private let milterHelo: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?) -> sfsistat = { ctx, name in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    return MilterRegistration.answer(.helo, session.helo(name: name.map { String(cString: $0) } ?? "", context: MilterContext(ctx)), ctx)
}

private let milterHeader: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<CChar>?) -> sfsistat = { ctx, name, value in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    guard session.wantsMessageContent else { return MilterRegistration.answer(.header, .continue, ctx) }
    let response = session.header(name: name.map { String(cString: $0) } ?? "", value: value.map { String(cString: $0) } ?? "",
                                  context: MilterContext(ctx))
    return MilterRegistration.answer(.header, response, ctx)
}

private let milterEndOfHeaders: @convention(c) (OpaquePointer?) -> sfsistat = { ctx in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    return MilterRegistration.answer(.endOfHeaders, session.endOfHeaders(context: MilterContext(ctx)), ctx)
}

private let milterBody: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, Int) -> sfsistat = { ctx, bytes, length in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    guard session.wantsMessageContent else { return MilterRegistration.answer(.body, .continue, ctx) }
    let chunk = bytes.map { Array(UnsafeBufferPointer(start: $0, count: max(0, length))) } ?? []
    return MilterRegistration.answer(.body, session.body(chunk: chunk, context: MilterContext(ctx)), ctx)
}

private let milterEnvelopeFrom: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat = { ctx, argv in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    return MilterRegistration.answer(.envelopeFrom, session.envelopeFrom(arguments: arguments(argv), context: MilterContext(ctx)), ctx)
}

private let milterEnvelopeRecipient: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat = { ctx, argv in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    return MilterRegistration.answer(.envelopeRecipient, session.envelopeRecipient(arguments: arguments(argv), context: MilterContext(ctx)), ctx)
}

private let milterData: @convention(c) (OpaquePointer?) -> sfsistat = { ctx in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    return MilterRegistration.answer(.data, session.data(context: MilterContext(ctx)), ctx)
}

private let milterEndOfMessage: @convention(c) (OpaquePointer?) -> sfsistat = { ctx in
    guard let ctx, let session = handler(ctx) else { return SMFIS_CONTINUE }
    return status(session.endOfMessage(context: MilterContext(ctx)), ctx)
}

private let milterAbort: @convention(c) (OpaquePointer?) -> sfsistat = { ctx in
    guard let ctx, let raw = smfi_getpriv(ctx) else { return SMFIS_CONTINUE }
    Unmanaged<HandlerBox>.fromOpaque(raw).takeUnretainedValue().handler.abort(context: MilterContext(ctx))
    return SMFIS_CONTINUE
}

private let milterClose: @convention(c) (OpaquePointer?) -> sfsistat = { ctx in
    guard let ctx, let raw = smfi_getpriv(ctx) else { return SMFIS_CONTINUE }
    smfi_setpriv(ctx, nil)
    Unmanaged<HandlerBox>.fromOpaque(raw).takeRetainedValue().handler.close()
    return SMFIS_CONTINUE
}

/// Asks the MTA for exactly the stages, actions and macros the filter needs.
private let milterNegotiate: @convention(c) (
    OpaquePointer?, UInt, UInt, UInt, UInt,
    UnsafeMutablePointer<UInt>?, UnsafeMutablePointer<UInt>?, UnsafeMutablePointer<UInt>?, UnsafeMutablePointer<UInt>?
) -> sfsistat = { ctx, offeredActions, offeredSteps, _, _, wantedActions, wantedSteps, wanted2, wanted3 in
    guard let ctx, let negotiation = MilterRegistration.current?.negotiation else { return SMFIS_ALL_OPTS }
    wantedActions?.pointee = negotiation.actions & offeredActions
    wantedSteps?.pointee = negotiation.steps & offeredSteps
    wanted2?.pointee = 0
    wanted3?.pointee = 0
    if offeredActions & UInt(SMFIF_SETSYMLIST) != 0 {
        for list in negotiation.macroLists { _ = smfi_setsymlist(ctx, list.stage, list.names) }
    }
    return SMFIS_CONTINUE
}
