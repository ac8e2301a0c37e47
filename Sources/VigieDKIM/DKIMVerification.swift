internal import COpenDKIM
import VigieAuth
import VigieDNS

/// One message being verified: owns libopendkim's `DKIM` handle (freed in
/// deinit). Not shared between threads: a milter connection uses it from one
/// callback at a time.
public final class DKIMVerification {
    private let verifier: DKIMVerifier
    private let handle: OpaquePointer?
    private var headersGiven = 0
    private var headersDropped = 0
    private var signatureHeaders = 0
    /// Set once libopendkim said the message needs no more (no signature, or a
    /// fatal error): the body is then not hashed at all.
    private var done = false
    private var note: String?
    /// Set at end of headers: key lookups (at eoh and at eom) share one budget.
    private var deadline: ContinuousClock.Instant?
    /// Key records too large for libopendkim, noted by the DNS hook.
    private let oversizedKeys = DKIMOversizedKeys()

    init(verifier: DKIMVerifier) {
        self.verifier = verifier
        var status: DKIM_STAT = DKIM_STAT_OK
        handle = "vigie".withCString { id in
            id.withMemoryRebound(to: UInt8.self, capacity: 6) { dkim_verify(verifier.library, $0, nil, &status) }
        }
        if let handle {
            _ = dkim_set_user_context(handle, UnsafeMutableRawPointer(bitPattern: verifier.limits.maximumSignatures))
        } else {
            done = true
            note = "libopendkim refused a new handle (status \(status))"
        }
    }

    deinit {
        if let handle { _ = dkim_free(handle) }
    }

    /// One header field as it appears in the message ("Name: value", folding
    /// kept), without the final line end. Bare LFs in folding become CRLF.
    public func header(_ field: [UInt8]) {
        guard !done, let handle else { return }
        if headersGiven >= verifier.limits.maximumHeaders || field.count > verifier.limits.maximumHeaderBytes {
            headersDropped += 1
            return
        }
        var bytes = MessageSplitter.crlf(field)
        while bytes.last == 0x0a || bytes.last == 0x0d { bytes.removeLast() }
        // Two fields libopendkim 2.11 mishandles, both found by fuzz/Targets/dkim-verify
        // and dropped here (RFC 5322 allows neither):
        // - empty (nothing but line ends: a lone CR in a message file): it asserts
        //   `len != 0`, and the assertion aborts the whole process;
        // - holding a NUL byte, when the field is signed: canonicalisation reads past
        //   the end of its copy (heap overflow under ASan). Over the milter protocol a
        //   header value is a C string and cannot hold one; a message file can.
        guard !bytes.isEmpty, !bytes.contains(0) else {
            headersDropped += 1
            return
        }
        let isSignature = Self.isSignatureField(bytes)
        // A third, found by the same fuzzer with valgrind's help: a signature whose
        // last tag is i= or z= (the quoted-printable ones) ending in an escape cut
        // short ("=", "=4") makes dkim_qp_decode read past the end of libopendkim's
        // copy, and the verdict then depends on the heap byte after it. No valid
        // signature ends so (the escape is two hex digits); it is dropped.
        if isSignature, Self.endsInACutQuotedPrintableEscape(bytes) {
            headersDropped += 1
            return
        }
        if isSignature { signatureHeaders += 1 }
        headersGiven += 1
        _ = bytes.withUnsafeMutableBufferPointer { dkim_header(handle, $0.baseAddress, $0.count) }
    }

    public func header(name: String, value: String) {
        guard !done, handle != nil else { return }
        // "Name: value" laid out as bytes once (an interpolated String turned into an
        // array was a copy more, and a Character walk for hasPrefix).
        var field: [UInt8] = []
        field.reserveCapacity(name.utf8.count + value.utf8.count + 2)
        field += name.utf8
        field.append(UInt8(ascii: ":"))
        if let first = value.utf8.first, first == 0x20 || first == 0x09 {} else { field.append(0x20) }
        field += value.utf8
        header(field)
    }

    public func endOfHeaders() {
        guard !done, let handle else { return }
        // libopendkim fetches keys from dkim_eoh on (depending on its flags), so the
        // message's DNS budget starts here and also covers dkim_eom.
        let deadline = ContinuousClock.now.advanced(by: verifier.limits.timeout)
        self.deadline = deadline
        let status = DNSDeadline.withDeadline(deadline) { oversizedKeys.collecting { dkim_eoh(handle) } }
        if status == DKIM_STAT_NOSIG { done = true }
        else if status != DKIM_STAT_OK && status != DKIM_STAT_CANTVRFY {
            note = "end of headers: \(String(cString: dkim_getresultstr(status)))"
        }
    }

    /// A chunk of body, with CRLF line ends (as a milter receives it).
    public func body(_ chunk: [UInt8]) {
        guard !done, let handle, !chunk.isEmpty else { return }
        // dkim_body takes a mutable pointer but only reads (without FIXCRLF, which
        // DKIMVerifier leaves off): no copy of the chunk.
        _ = chunk.withUnsafeBufferPointer { dkim_body(handle, UnsafeMutablePointer(mutating: $0.baseAddress), $0.count) }
    }

    /// Whether the field's last tag is `i=` or `z=` and an `=` sits in the last two
    /// bytes of its value (trailing folding white space and ";" aside).
    static func endsInACutQuotedPrintableEscape(_ field: [UInt8]) -> Bool {
        // The last tag, closed by a ";" or not: libopendkim ends each value with a NUL
        // where its ";" was, so an escape cut short in the last one reads past the copy.
        var end = field.count
        while end > 0, [0x20, 0x09, 0x0d, 0x0a, UInt8(ascii: ";")].contains(field[end - 1]) { end -= 1 }
        var start = end
        while start > 0, field[start - 1] != UInt8(ascii: ";") { start -= 1 }
        if start == 0, let colon = field.firstIndex(of: UInt8(ascii: ":")) { start = colon + 1 }  // one tag only
        guard start < end else { return false }
        let tag = field[start..<end].drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d || $0 == 0x0a }
        guard let equals = tag.firstIndex(of: UInt8(ascii: "=")) else { return false }
        let name = tag[tag.startIndex..<equals].filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d && $0 != 0x0a }
        guard name == [UInt8(ascii: "i")] || name == [UInt8(ascii: "z")] else { return false }
        let value = tag[tag.index(after: equals)...]
        return value.suffix(2).contains(UInt8(ascii: "="))
    }

    /// "DKIM-Signature:" in any case, compared as bytes (this runs on every field).
    static func isSignatureField(_ field: [UInt8]) -> Bool {
        // A StaticString: no array made for each field.
        let name: StaticString = "dkim-signature:"
        guard field.count >= name.utf8CodeUnitCount else { return false }
        return name.withUTF8Buffer { wanted in
            for index in 0..<wanted.count {
                let byte = field[index]
                let lower = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
                if lower != wanted[index] { return false }
            }
            return true
        }
    }

    /// Ends the message: fetches keys (bounded by `Limits.timeout`) and checks
    /// every signature up to the cap.
    public func finish() -> DKIMOutcome {
        var notes = [note].compactMap { $0 }
        if headersDropped > 0 { notes.append("\(headersDropped) header fields over the caps not checked") }
        guard let handle, signatureHeaders > 0 else {
            return DKIMOutcome(signatures: [], note: notes.isEmpty ? nil : notes.joined(separator: "; "))
        }
        if !done {
            _ = DNSDeadline.withDeadline(deadline ?? ContinuousClock.now.advanced(by: verifier.limits.timeout)) {
                oversizedKeys.collecting { dkim_eom(handle, nil) }
            }
        }
        var list: UnsafeMutablePointer<OpaquePointer?>? = nil
        var count: Int32 = 0
        guard dkim_getsiglist(handle, &list, &count) == DKIM_STAT_OK, let list, count > 0 else {
            // Signature headers were there but libopendkim kept none of them.
            return DKIMOutcome(signatures: [DKIMSignatureOutcome(result: .neutral, domain: "", selector: "",
                                                                 reason: "unparseable signature")],
                               note: notes.isEmpty ? nil : notes.joined(separator: "; "))
        }
        var outcomes: [DKIMSignatureOutcome] = []
        var skipped = 0
        for index in 0..<Int(count) {
            guard let sig = list[index] else { continue }
            if dkim_sig_getflags(sig) & UInt32(DKIM_SIGFLAG_IGNORE) != 0 {
                skipped += 1
                continue
            }
            outcomes.append(outcome(of: sig, in: handle))
        }
        if skipped > 0 { notes.append("\(skipped) signatures over the cap of \(verifier.limits.maximumSignatures) not checked") }
        return DKIMOutcome(signatures: outcomes, skippedSignatures: skipped, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    private func outcome(of sig: OpaquePointer, in handle: OpaquePointer) -> DKIMSignatureOutcome {
        let flags = dkim_sig_getflags(sig)
        let bodyHash = dkim_sig_getbh(sig)
        let error = dkim_sig_geterror(sig)
        let domain = dkim_sig_getdomain(sig).map { String(cString: $0) } ?? ""
        let selector = dkim_sig_getselector(sig).map { String(cString: $0) } ?? ""

        var algorithm: String? = nil
        var alg = dkim_alg_t(0)
        if dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK {
            switch alg {
            case DKIM_SIGN_RSASHA1: algorithm = "rsa-sha1"
            case DKIM_SIGN_RSASHA256: algorithm = "rsa-sha256"
            case DKIM_SIGN_ED25519SHA256: algorithm = "ed25519-sha256"
            default: break
            }
        }
        var bits: UInt32 = 0
        let keyBits: Int? = dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK && bits > 0 ? Int(bits) : nil

        var identityBuffer = [UInt8](repeating: 0, count: 512)
        let identity: String? = identityBuffer.withUnsafeMutableBufferPointer {
            dkim_sig_getidentity(handle, sig, $0.baseAddress, $0.count) == DKIM_STAT_OK ? String(cString: $0.baseAddress!) : nil
        }
        var prefixBuffer = [UInt8](repeating: 0, count: 256)
        var prefixLength = prefixBuffer.count - 1
        let prefix: String? = prefixBuffer.withUnsafeMutableBufferPointer {
            // dkim_get_sigsubstring: the shortest prefix of b= that tells this
            // signature from the others on the message (at least 8 characters).
            dkim_get_sigsubstring(handle, sig, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  &prefixLength) == DKIM_STAT_OK ? String(decoding: $0.prefix(prefixLength), as: UTF8.self) : nil
        }

        var (result, reason) = DKIMVerification.classify(flags: flags, bodyHash: bodyHash, error: error)
        if result == .temperror, let size = oversizedKeys.oversized(selector: selector, domain: domain) {
            (result, reason) = (.permerror, "key record of \(size.bytes) bytes, over the \(size.limit) bytes libopendkim takes")
        }
        return DKIMSignatureOutcome(result: result, domain: domain, selector: selector,
                                    identity: identity, algorithm: algorithm, signaturePrefix: prefix,
                                    keyBits: keyBits, reason: reason)
    }

    static func classify(flags: UInt32, bodyHash: Int32, error: Int32) -> (DKIMResult, String?) {
        if flags & UInt32(DKIM_SIGFLAG_PASSED) != 0 && bodyHash == DKIM_SIGBH_MATCH { return (.pass, nil) }
        let text = error == DKIM_SIGERROR_OK ? nil : dkim_sig_geterrorstr(error).map { String(cString: $0) }
        switch error {
        case DKIM_SIGERROR_KEYFAIL:
            return (.temperror, "key lookup failed")
        case DKIM_SIGERROR_NOKEY:
            return (.permerror, "no key")
        case DKIM_SIGERROR_KEYREVOKED:
            return (.permerror, "key revoked")
        case DKIM_SIGERROR_DNSSYNTAX, DKIM_SIGERROR_MULTIREPLY, DKIM_SIGERROR_KEYVERSION, DKIM_SIGERROR_KEYUNKNOWNHASH,
             DKIM_SIGERROR_KEYHASHMISMATCH, DKIM_SIGERROR_NOTEMAILKEY, DKIM_SIGERROR_KEYTYPEMISSING,
             DKIM_SIGERROR_KEYTYPEUNKNOWN, DKIM_SIGERROR_KEYDECODE, DKIM_SIGERROR_KEYTOOSMALL:
            return (.permerror, text)
        case DKIM_SIGERROR_BADSIG:
            if bodyHash == DKIM_SIGBH_MISMATCH { return (.fail, "body hash did not verify") }
            return (.fail, "signature did not verify")
        case DKIM_SIGERROR_EXPIRED, DKIM_SIGERROR_FUTURE:
            return (.permerror, text)
        case DKIM_SIGERROR_OK:
            if bodyHash == DKIM_SIGBH_MISMATCH { return (.fail, "body hash did not verify") }
            if flags & UInt32(DKIM_SIGFLAG_PROCESSED) != 0 { return (.fail, "signature did not verify") }
            return (.neutral, "not processed")
        default:
            // Syntax errors in the signature itself (c=, a=, h=, b=, bh=, d= ...).
            return (.neutral, text ?? "bad signature")
        }
    }
}
