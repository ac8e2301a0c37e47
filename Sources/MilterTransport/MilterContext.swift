internal import CMilter
import VigieReply
#if canImport(Glibc)
import Glibc
#endif

/// The MTA side of one callback: macros, reply text, and end-of-message actions.
///
/// Valid only during the callback it was passed to (libmilter reuses the context);
/// never store it.
public struct MilterContext {
    let ctx: OpaquePointer

    init(_ ctx: OpaquePointer) { self.ctx = ctx }

    /// The value of a Sendmail macro such as `{auth_authen}` or `i`, or nil when the
    /// MTA did not send it. The corresponding C function is `smfi_getsymval`.
    public func macro(_ name: String) -> String? {
        name.withCString { cName in
            guard let value = smfi_getsymval(ctx, UnsafeMutablePointer(mutating: cName)) else { return nil }
            return String(cString: value)
        }
    }

    /// Puts the message in the MTA's hold queue. Only at end of message, and only if
    /// the filter asked for `.quarantine`. The corresponding C function is
    /// `smfi_quarantine`. Returns false when libmilter refused.
    @discardableResult
    public func quarantine(reason: String) -> Bool {
        reason.withCString { smfi_quarantine(ctx, UnsafeMutablePointer(mutating: $0)) } == MI_SUCCESS
    }

    /// Appends a header field to the message. Only at end of message, with
    /// `.addHeaders`. Folding in `value` is "\n\t" (no CR). The corresponding C
    /// function is `smfi_addheader`. Returns false when libmilter refused.
    @discardableResult
    public func addHeader(name: String, value: String) -> Bool {
        name.withCString { cName in
            value.withCString { cValue in
                smfi_addheader(ctx, UnsafeMutablePointer(mutating: cName), UnsafeMutablePointer(mutating: cValue))
            }
        } == MI_SUCCESS
    }

    /// Inserts a header field at `index` (0 = top of the message, before Postfix's
    /// own Received). Only at end of message, with `.addHeaders`. The corresponding
    /// C function is `smfi_insheader`.
    @discardableResult
    public func insertHeader(index: Int, name: String, value: String) -> Bool {
        name.withCString { cName in
            value.withCString { cValue in
                smfi_insheader(ctx, Int32(clamping: index), UnsafeMutablePointer(mutating: cName),
                               UnsafeMutablePointer(mutating: cValue))
            }
        } == MI_SUCCESS
    }

    /// Replaces the `index`-th (1-based, counted among fields of that name) header
    /// field named `name`; an empty `value` deletes it. Only at end of message, with
    /// `.changeHeaders`. The corresponding C function is `smfi_chgheader`.
    @discardableResult
    public func changeHeader(name: String, index: Int, value: String) -> Bool {
        name.withCString { cName in
            if value.isEmpty {
                return smfi_chgheader(ctx, UnsafeMutablePointer(mutating: cName), Int32(clamping: index), nil)
            }
            return value.withCString { cValue in
                smfi_chgheader(ctx, UnsafeMutablePointer(mutating: cName), Int32(clamping: index),
                               UnsafeMutablePointer(mutating: cValue))
            }
        } == MI_SUCCESS
    }

    /// Sets the reply for the current response; multi-line through the C shim.
    /// The corresponding C functions are `smfi_setreply` and `smfi_setmlreply`.
    @discardableResult
    func setReply(_ reply: SMTPReply) -> Bool {
        let lines = MilterReplyEncoding.lines(of: reply)
        return reply.code.withCString { code in
            reply.enhancedCode.withCString { enhanced in
                if lines.count == 1 {
                    return lines[0].withCString {
                        smfi_setreply(ctx, UnsafeMutablePointer(mutating: code), UnsafeMutablePointer(mutating: enhanced),
                                      UnsafeMutablePointer(mutating: $0))
                    } == MI_SUCCESS
                }
                let cLines = lines.map { strdup($0) }
                defer { cLines.forEach { free($0) } }
                let pointers = cLines.map { UnsafePointer<CChar>($0) }
                return pointers.withUnsafeBufferPointer { buffer in
                    vigie_smfi_setmlreply(ctx, code, enhanced, buffer.baseAddress, Int32(buffer.count))
                } == MI_SUCCESS
            }
        }
    }
}
