internal import COpenDKIM

/// One message being signed: one libopendkim signing handle per key, fed the same
/// header fields and body (freed in deinit). Used from one milter callback at a
/// time, like `DKIMVerification`.
public final class DKIMSigning {
    private struct Handle {
        let key: DKIMSigningKey
        let dkim: OpaquePointer
    }

    private var handles: [Handle] = []
    private var failures: [DKIMSignatureResult] = []
    /// The body's last two bytes: a body not ending in CRLF gets one at the end,
    /// as verifiers add it (RFC 6376 §3.4.3, §3.4.4) and libopendkim insists.
    private var bodyEnd: (secondLast: UInt8?, last: UInt8?) = (nil, nil)

    init(signer: DKIMSigner, keys: [DKIMSigningKey]) {
        let headerCanon: dkim_canon_t = signer.options.headerCanonicalization == .relaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE
        let bodyCanon: dkim_canon_t = signer.options.bodyCanonicalization == .relaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE
        for key in keys {
            var status: DKIM_STAT = DKIM_STAT_OK
            let algorithm: dkim_alg_t = key.algorithm == .rsaSHA256 ? DKIM_SIGN_RSASHA256 : DKIM_SIGN_ED25519SHA256
            let dkim: OpaquePointer? = key.encodedKey.withUnsafeBufferPointer { secret in
                key.selector.withCString { selector in
                    key.domain.withCString { domain in
                        selector.withMemoryRebound(to: UInt8.self, capacity: key.selector.utf8.count + 1) { selector in
                            domain.withMemoryRebound(to: UInt8.self, capacity: key.domain.utf8.count + 1) { domain in
                                dkim_sign(signer.library, Self.id, nil, UnsafeMutablePointer(mutating: secret.baseAddress), selector, domain,
                                          headerCanon, bodyCanon, algorithm, -1, &status)
                            }
                        }
                    }
                }
            }
            if let dkim {
                handles.append(Handle(key: key, dkim: dkim))
            } else {
                failures.append(DKIMSignatureResult(key: key, outcome: .failure("libopendkim refused a signing handle: \(Self.text(status))")))
            }
        }
    }

    deinit {
        for handle in handles { _ = dkim_free(handle.dkim) }
    }

    private static let id: [UInt8] = Array("vigie".utf8) + [0]

    private static func text(_ status: DKIM_STAT) -> String {
        dkim_getresultstr(status).map { String(cString: $0) } ?? "status \(status)"
    }

    /// libopendkim's own words on the last error of a handle, if it has any.
    private static func detail(_ dkim: OpaquePointer) -> String {
        guard let text = dkim_geterror(dkim) else { return "" }
        let words = String(cString: text)
        return words.isEmpty ? "" : " (\(words))"
    }

    /// Whether any key is still signing.
    public var isSigning: Bool { !handles.isEmpty }

    /// One header field as it appears in the message ("Name: value", folding kept),
    /// without the final line end. Bare LFs in folding become CRLF.
    public func header(_ field: [UInt8]) {
        var bytes = MessageSplitter.crlf(field)
        while bytes.last == 0x0a || bytes.last == 0x0d { bytes.removeLast() }
        // libopendkim asserts on an empty field and mishandles a NUL (see
        // DKIMVerification): neither can be signed, both are left out.
        guard !bytes.isEmpty, !bytes.contains(0) else { return }
        for handle in handles {
            _ = bytes.withUnsafeMutableBufferPointer { dkim_header(handle.dkim, $0.baseAddress, $0.count) }
        }
    }

    public func header(name: String, value: String) {
        header(Array("\(name):\(value.hasPrefix(" ") || value.hasPrefix("\t") ? "" : " ")\(value)".utf8))
    }

    public func endOfHeaders() {
        handles.removeAll { handle in
            let status = dkim_eoh(handle.dkim)
            guard status != DKIM_STAT_OK else { return false }
            failures.append(DKIMSignatureResult(key: handle.key, outcome: .failure("end of headers: \(Self.text(status))")))
            _ = dkim_free(handle.dkim)
            return true
        }
    }

    /// A chunk of body, with CRLF line ends (as a milter receives it).
    public func body(_ chunk: [UInt8]) {
        guard !chunk.isEmpty else { return }
        bodyEnd = chunk.count >= 2 ? (chunk[chunk.count - 2], chunk[chunk.count - 1]) : (bodyEnd.last, chunk[0])
        for handle in handles {
            // dkim_body only reads the chunk (no FIXCRLF): no copy.
            _ = chunk.withUnsafeBufferPointer { dkim_body(handle.dkim, UnsafeMutablePointer(mutating: $0.baseAddress), $0.count) }
        }
    }

    /// Ends the message and makes each signature: the DKIM-Signature values, in the
    /// order of the keys, then the keys that could not sign.
    public func finish() -> [DKIMSignatureResult] {
        var results: [DKIMSignatureResult] = []
        if bodyEnd.last != nil && !(bodyEnd.secondLast == 0x0d && bodyEnd.last == 0x0a) { body([0x0d, 0x0a]) }
        for handle in handles {
            let status = dkim_eom(handle.dkim, nil)
            guard status == DKIM_STAT_OK else {
                results.append(DKIMSignatureResult(key: handle.key, outcome: .failure("end of message: \(Self.text(status))\(Self.detail(handle.dkim))")))
                continue
            }
            var buffer: UnsafeMutablePointer<UInt8>? = nil
            var length = 0
            // `initial`: the field name and ": " are on the first line.
            let got = dkim_getsighdr_d(handle.dkim, Self.headerName.utf8.count + 2, &buffer, &length)
            guard got == DKIM_STAT_OK, let buffer else {
                results.append(DKIMSignatureResult(key: handle.key, outcome: .failure("signing: \(Self.text(got))")))
                continue
            }
            // libopendkim folds with CRLF TAB; a milter's header value folds with LF.
            let value = String(decoding: UnsafeBufferPointer(start: buffer, count: length).filter { $0 != 0x0d }, as: UTF8.self)
            results.append(DKIMSignatureResult(key: handle.key, outcome: .signed(value)))
        }
        return results + failures
    }

    public static let headerName = "DKIM-Signature"
}

/// What signing one message with one key gave.
public struct DKIMSignatureResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The DKIM-Signature field's value, folded with LF TAB.
        case signed(String)
        case failure(String)
    }
    public let key: DKIMSigningKey
    public let outcome: Outcome

    public var value: String? {
        if case .signed(let value) = outcome { return value }
        return nil
    }
}
