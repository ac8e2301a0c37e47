import Foundation
@testable import VigieControl

/// The control protocol (Sources/VigieControl/ControlMessage.swift): the daemon
/// decodes a `ControlRequest` line from any member of the admin group, and
/// `vigiectl` decodes the daemon's `ControlResponse`.
///
/// Properties: decoding any bytes gives a value or an error; a decoded message,
/// encoded and decoded again, is the same message; the encoding is one line (the
/// socket's framing is a line per message).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    roundTrip(ControlRequest.self, bytes)
    roundTrip(ControlResponse.self, bytes)
    return 0
}

private func roundTrip<Message: Codable & Equatable>(_ type: Message.Type, _ bytes: Data) {
    guard let message = try? JSONDecoder().decode(Message.self, from: bytes) else { return }
    let encoded: Data
    do { encoded = try JSONEncoder().encode(message) } catch { fatalError("\(Message.self) decoded but does not encode: \(error)") }
    require(!encoded.contains(0x0A), "\(Message.self) encodes over more than one line")
    let again = try? JSONDecoder().decode(Message.self, from: encoded)
    require(again == message, "\(Message.self) round trip: \(message) -> \(String(decoding: encoded, as: UTF8.self)) -> \(String(describing: again))")
}
