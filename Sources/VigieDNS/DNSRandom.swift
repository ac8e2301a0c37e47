/// Unpredictable query ids and UDP source ports (RFC 5452 §4, §9.2): together about
/// 32 bits an off-path attacker must guess to slip a forged answer in before the
/// real one.
///
/// Security: both come from `SystemRandomNumberGenerator`, which reads the
/// kernel's CSPRNG (getrandom(2) on Linux); never from a seeded or per-thread
/// generator, whose state one observed query could reveal.
enum DNSRandom {
    /// A transaction id for one query.
    static func transactionID() -> UInt16 {
        var generator = SystemRandomNumberGenerator()
        return UInt16.random(in: .min ... .max, using: &generator)
    }

    /// A UDP source port for one query, above the privileged range (binding below
    /// 1024 needs root, which the inbound role has dropped).
    static func sourcePort() -> UInt16 {
        var generator = SystemRandomNumberGenerator()
        return UInt16.random(in: 1024 ... .max, using: &generator)
    }
}
