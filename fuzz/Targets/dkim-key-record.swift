@testable import VigieDKIM
import Foundation

/// The DKIM key record parser (Sources/VigieDKIM/DKIMKeyRecord.swift): what
/// `vigiectl dkim check` reads back from DNS, any bytes a zone can hold.
///
/// Properties:
/// - parsing never traps, and is deterministic;
/// - a record it accepts prints (`text`) to a record that parses to the same value;
/// - an accepted record held a `p=` tag.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDKIMKeyRecord(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let first = DKIMKeyRecord.parse(text)
    require(first == DKIMKeyRecord.parse(text), "parse is not deterministic")
    guard case .success(let record) = first else { return 0 }
    // A p= tag (white space allowed around "=", RFC 6376 §3.2) was there.
    require(text.split(separator: ";").contains { $0.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespacesAndNewlines) == "p" },
            "accepted a record without p=: \(text.prefix(80))")
    guard case .success(let again) = DKIMKeyRecord.parse(record.text) else {
        require(false, "its own text does not parse: \(record.text.prefix(80))")
        return 0
    }
    require(again.publicKey == record.publicKey, "p= changed through text")
    require(again.keyType == record.keyType, "k= changed through text: \(record.keyType)")
    return 0
}
