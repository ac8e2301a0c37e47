@testable import VigieDKIMMessage

/// DKIM header preparation (Sources/VigieDKIM/MessageSplitter.swift, compiled alone
/// as VigieDKIMMessage): every header field of an inbound message goes through
/// `crlf` before libopendkim sees it, and `vigiectl check` splits whole files.
///
/// Properties:
/// - `crlf` leaves no bare LF, keeps every other byte in order, and is idempotent;
/// - `split` gives fields that are non-empty, start with a non-blank, and hold line
///   ends only as CRLF folding followed by a blank; the body is the message's tail.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDKIMHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let message = Array(UnsafeBufferPointer(start: data, count: size))
    let fixed = MessageSplitter.crlf(message)
    for (index, byte) in fixed.enumerated() where byte == 0x0A {
        require(index > 0 && fixed[index - 1] == 0x0D, "bare LF at \(index)")
    }
    require(MessageSplitter.crlf(fixed) == fixed, "crlf is not idempotent")
    require(withoutCRBeforeLF(fixed) == withoutCRBeforeLF(message), "crlf changed more than line ends")

    let (headers, body) = MessageSplitter.split(message)
    require(message.count >= body.count && Array(message.suffix(body.count)) == body, "body is not the message's tail")
    for field in headers {
        require(!field.isEmpty && field[0] != 0x20 && field[0] != 0x09, "field starts blank: \(field.prefix(20))")
        for (index, byte) in field.enumerated() where byte == 0x0A {
            require(index > 0 && field[index - 1] == 0x0D && index + 1 < field.count && (field[index + 1] == 0x20 || field[index + 1] == 0x09),
                    "line end in a field that is not folding: \(field.prefix(40))")
        }
    }
    return 0
}

/// The bytes with every CR that precedes an LF removed: what `crlf` may change.
private func withoutCRBeforeLF(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    for (index, byte) in bytes.enumerated() where !(byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A) {
        out.append(byte)
    }
    return out
}
