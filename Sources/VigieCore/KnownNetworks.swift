/// The networks an account sends from, in a fixed-size table (`capacity` entries).
///
/// An entry stands for a provider block (/16, /32) and remembers the last /24 or
/// /48 seen in it: a phone on mobile data gets a new /24 of its carrier's pool
/// nearly every time, and one entry per /24 would never see the same one twice.
///
/// A network becomes *established* once it has been used on two different days at
/// least `establishedAfter` apart from its first sighting, or when an admin trusts
/// it (`vigiectl trust`). Until then it is *new*: an attacker's network seen for
/// the first time an hour ago must not become "usual" by sending from it all
/// afternoon. A network in the same /16 (IPv4) or /32 (IPv6) as an established one
/// is *nearby*: a phone on mobile data, a home router that got a new lease.
///
/// When the table is full, the least recently used entry that is neither trusted
/// nor established goes first, so a stream of attacker networks cannot push the
/// member's home and phone out; only when all are established does the least
/// recently used one go.
struct KnownNetworks: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var prefix: UInt64 = 0  // NetworkPrefix.raw; 0 is an empty slot
        /// Hours since the epoch of the first sighting.
        var firstSeenHour: UInt32 = 0
        /// Days since the epoch of the last sighting.
        var lastSeenDay: UInt16 = 0
        /// Distinct days it was used on (saturates).
        var daysSeen: UInt8 = 0
        var trusted: Bool = false

        var isEmpty: Bool { prefix == 0 }
    }

    /// Home, phone, work and one more: four blocks cover a member, and a rotating
    /// attacker only ever churns the transient ones.
    static let capacity = 4
    var entries: InlineArray<4, Entry> = .init(repeating: Entry())

    init() {}

    static func == (lhs: Self, rhs: Self) -> Bool {
        (0..<capacity).allSatisfy { lhs.entries[$0] == rhs.entries[$0] }
    }

    enum Familiarity: Sendable, Equatable {
        /// Trusted, or used on two days.
        case established
        /// In the same provider block as an established network.
        case nearby
        /// Not seen before, or seen only recently.
        case new
    }

    func familiarity(of network: NetworkPrefix, nowHour: UInt32, establishedAfterHours: UInt32) -> Familiarity {
        var nearby = false
        for index in 0..<Self.capacity {
            let entry = entries[index]
            guard !entry.isEmpty else { continue }
            let established = Self.isEstablished(entry, nowHour: nowHour, establishedAfterHours: establishedAfterHours)
            if entry.prefix == network.raw { return established ? .established : .new }
            if established && Self.sameBlock(entry.prefix, network) { nearby = true }
        }
        return nearby ? .nearby : .new
    }

    static func sameBlock(_ raw: UInt64, _ network: NetworkPrefix) -> Bool {
        guard let known = NetworkPrefix(raw: raw) else { return false }
        return known.isIPv6 == network.isIPv6 && known.wider == network.wider
    }

    static func isEstablished(_ entry: Entry, nowHour: UInt32, establishedAfterHours: UInt32) -> Bool {
        entry.trusted || (entry.daysSeen >= 2 && nowHour &- entry.firstSeenHour >= establishedAfterHours)
    }

    /// Records a sighting. Returns true when the network was not in the table.
    @discardableResult
    /// With `countDay` false (a suspicious stretch) the sighting keeps the entry
    /// fresh but does not bring it closer to established.
    mutating func record(_ network: NetworkPrefix, nowHour: UInt32, today: UInt16, trusted: Bool = false,
                         countDay: Bool = true, establishedAfterHours: UInt32) -> Bool {
        // The exact network, else its block (the entry follows the block to its latest /24).
        let match = (0..<Self.capacity).first { entries[$0].prefix == network.raw }
            ?? (0..<Self.capacity).first { !entries[$0].isEmpty && Self.sameBlock(entries[$0].prefix, network) }
        if let index = match {
            entries[index].prefix = network.raw
            if entries[index].lastSeenDay != today {
                entries[index].lastSeenDay = today
                if countDay && entries[index].daysSeen < .max { entries[index].daysSeen += 1 }
            }
            if trusted { entries[index].trusted = true }
            return false
        }
        let slot = victim(nowHour: nowHour, establishedAfterHours: establishedAfterHours)
        entries[slot] = Entry(prefix: network.raw, firstSeenHour: nowHour, lastSeenDay: today, daysSeen: 1, trusted: trusted)
        return true
    }

    /// Whether `network` (or its block) was already used on `day`.
    func seen(_ network: NetworkPrefix, on day: UInt16) -> Bool {
        (0..<Self.capacity).contains {
            !entries[$0].isEmpty && entries[$0].lastSeenDay == day
                && (entries[$0].prefix == network.raw || Self.sameBlock(entries[$0].prefix, network))
        }
    }

    /// An empty slot, else the least recently used transient one, else the least recently used.
    private func victim(nowHour: UInt32, establishedAfterHours: UInt32) -> Int {
        var best: Int?
        var bestIsTransient = false
        for index in 0..<Self.capacity {
            let entry = entries[index]
            if entry.isEmpty { return index }
            let transient = !Self.isEstablished(entry, nowHour: nowHour, establishedAfterHours: establishedAfterHours)
            if let current = best {
                if transient && !bestIsTransient { best = index; bestIsTransient = true; continue }
                if transient == bestIsTransient && entry.lastSeenDay < entries[current].lastSeenDay { best = index }
            } else {
                best = index
                bestIsTransient = transient
            }
        }
        return best ?? 0
    }

    /// The networks as `vigiectl show` lists them, most recently used first.
    func listing(nowHour: UInt32, establishedAfterHours: UInt32) -> [KnownNetworkReport] {
        (0..<Self.capacity).compactMap { index -> KnownNetworkReport? in
            let entry = entries[index]
            guard let prefix = NetworkPrefix(raw: entry.prefix) else { return nil }
            return KnownNetworkReport(
                network: prefix.description, daysSeen: Int(entry.daysSeen), trusted: entry.trusted,
                established: Self.isEstablished(entry, nowHour: nowHour, establishedAfterHours: establishedAfterHours),
                lastSeen: UnixTime(seconds: Int64(entry.lastSeenDay) * 86_400))
        }.sorted { ($0.lastSeen, $0.network) > ($1.lastSeen, $1.network) }
    }
}

/// One known network in `vigiectl show`.
public struct KnownNetworkReport: Sendable, Equatable, Codable {
    public var network: String
    public var daysSeen: Int
    public var trusted: Bool
    public var established: Bool
    /// The day it was last used (midnight UTC).
    public var lastSeen: UnixTime
}
