@testable import SRSLookup

/// Postfix tcp_table(5) request lines and socketmap(5) netstrings
/// (Sources/SRSLookup/TCPTableProtocol.swift): the bytes come from whoever connects
/// to the lookup ports.
///
/// Properties:
/// - %XX decoding undoes encoding, for any bytes; an encoded key is printable ASCII;
/// - a parsed `get KEY` line, written again with the key encoded, parses to the same key;
/// - a reply is one line: only its last byte is a newline;
/// - a netstring parses back to its payload and length; a complete parse never
///   claims more bytes than it was given, and its payload is exactly the declared
///   length; `name key` payloads split back into what made them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLookupProtocols(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    let encoded = TCPTableProtocol.encode(bytes)
    require(encoded.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "encoding left an unprintable byte")
    require(TCPTableProtocol.decode(encoded[...]) == bytes, "decode(encode(x)) != x")

    switch TCPTableProtocol.parse(line: bytes[...]) {
    case .get(let key):
        require(!key.isEmpty, "empty key accepted")
        let again = TCPTableProtocol.parse(line: (Array("get ".utf8) + TCPTableProtocol.encode(key))[...])
        require(again == .get(key: key), "re-encoded request parsed as \(again)")
    case .invalid(let reason):
        require(!reason.isEmpty, "invalid without a reason")
    }
    for answer in [LookupAnswer.found(bytes), .temporary(String(decoding: bytes, as: UTF8.self)),
                   .permanent(String(decoding: bytes, as: UTF8.self)), .notFound] {
        let reply = TCPTableProtocol.reply(answer)
        require(reply.last == 10 && !reply.dropLast().contains(10), "reply is not one line: \(reply)")
    }

    let framed = SocketmapProtocol.netstring(bytes)
    require(SocketmapProtocol.parseNetstring(framed[...]) == (bytes.count <= SocketmapProtocol.maximumLength
        ? .complete(payload: bytes[...], consumed: framed.count) : .malformed("netstring longer than \(SocketmapProtocol.maximumLength) bytes")),
            "netstring of \(bytes.count) bytes does not parse back")
    // Parse a stream the way LookupServer does: netstring after netstring.
    var rest = bytes[...]
    while !rest.isEmpty {
        guard case .complete(let payload, let consumed) = SocketmapProtocol.parseNetstring(rest) else { break }
        require(consumed > payload.count && consumed <= rest.count, "consumed \(consumed) of \(rest.count)")
        let header = rest.prefix(consumed - payload.count - 2)
        require(Int(String(decoding: header, as: UTF8.self)) == payload.count, "payload length \(payload.count) for header \(Array(header))")
        if case .lookup(let table, let key) = SocketmapProtocol.parse(payload: payload) {
            require(Array(table.rawValue.utf8) + [0x20] + key == Array(payload), "name key does not rebuild the payload")
        }
        rest = rest.dropFirst(consumed)
    }
    return 0
}
