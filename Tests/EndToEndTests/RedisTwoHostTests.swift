// End to end (issue 12): two Vigie daemons, each in front of its own private
// Postfix, sharing one real redis-server on loopback.

import Foundation
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Two hosts and their shared Redis.
final class TwoHosts {
    let redis: RedisInstance
    let hostA: VigieUnderTest
    let hostB: VigieUnderTest

    /// `limits` is the [limits]/[burst] part, the same on both hosts.
    init(limits: String) throws {
        redis = try RedisInstance()
        try redis.start()
        let store = """
        [store]
        backend = "redis"
        redis_url = "unix:\(redis.socketPath!)"
        redis_key_prefix = "club:"
        redis_timeout = "100ms"
        """
        hostA = try VigieUnderTest(extraConfig: limits + "\n" + store, notify: false)
        hostB = try VigieUnderTest(extraConfig: limits + "\n" + store, notify: false)
    }

    /// `redis-cli` on the shared server.
    func redisCLI(_ arguments: String...) throws -> String {
        let result = try ProcessRunner.run("/usr/bin/redis-cli", ["-s", redis.socketPath!] + arguments, timeout: 10)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The current count of `window` in the account's shared record, as the server
    /// holds it: the window's start (a double), previous and current (u32) at its
    /// place in the record, read by the server's own Lua `struct`, independently of
    /// Vigie's Swift decoder. The policy sends its windows in a fixed order: each
    /// metric's minute, hour and day, then the burst rule's two.
    func sharedCount(_ account: String, _ window: String) throws -> String {
        let order = ["messages/minute", "messages/hour", "messages/day", "recipients/minute", "recipients/hour", "recipients/day"]
        let index = try #require(order.firstIndex(of: window))
        return try redisCLI("EVAL", "local r = redis.call('GET', KEYS[1]) if not r then return -1 end "
                            + "local s, p, c = struct.unpack('<dI4I4', r, 9 + 16 * tonumber(ARGV[1])) return c",
                            "1", "club:shared:" + account, String(index))
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns how long it took.
func within(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Double? {
    let start = Date()
    while Date().timeIntervalSince(start) < seconds {
        if try condition() { return Date().timeIntervalSince(start) }
        usleep(20_000)
    }
    return nil
}

@Suite("Two hosts on one Redis (real Postfix, real redis-server)", .serialized)
struct RedisTwoHostTests {
    /// Six messages an hour in all, no burst rule in the way.
    static let sixPerHour = """
    [limits]
    recipients_per_message = 5
    [limits.messages]
    per_minute = 100
    per_hour = 6
    per_day = 200
    [limits.recipients]
    per_minute = 100
    per_hour = 100
    per_day = 200
    """

    @Test("an account sending alternately through both hosts is refused at the limit summed over both")
    func limitSummedOverBothHosts() throws {
        let hosts = try TwoHosts(limits: Self.sixPerHour)
        for number in 0..<6 {
            let host = number % 2 == 0 ? hosts.hostA : hosts.hostB
            let result = try host.submit(as: "camille", subject: "message \(number)")
            #expect(result.accepted, "message \(number): \(result)")
        }
        // Each host alone has counted three: only the shared total refuses.
        for host in [hosts.hostA, hosts.hostB] {
            let refused = try host.submit(as: "camille", subject: "one too many")
            #expect(!refused.accepted)
            #expect(refused.recipients.first?.response.code == 450, "\(refused)")
            #expect(refused.recipients.first?.response.enhancedCode == "4.7.1")
        }
        // Another account has its own total.
        #expect(try hosts.hostB.submit(as: "dominique").accepted)
        // Refused mail is not counted: six in the shared hour window.
        #expect(try hosts.sharedCount("camille", "messages/hour") == "6")
        let ttl = try #require(Int(try hosts.redisCLI("PTTL", "club:shared:camille")))
        #expect(ttl > 86_400_000 && ttl <= 2 * 86_400_000, "the key expires twice the longest window after its last count")
    }

    @Test("a burst through both hosts locks the account on both within 1 s; kill -9 loses no lock; unlock on B lets mail flow on A")
    func burstLocksBothHosts() throws {
        let hosts = try TwoHosts(limits: """
        [limits.messages]
        per_minute = 100
        per_hour = 100
        [limits.recipients]
        per_minute = 100
        per_hour = 100
        [burst]
        messages = 6
        recipients = 100
        window = "10m"
        """)
        var trippedOn: VigieUnderTest?
        var tripped: String?
        for number in 0..<12 {
            let host = number % 2 == 0 ? hosts.hostA : hosts.hostB
            let result = try host.submit(as: "mallory", subject: "spam \(number)")
            #expect(result.accepted, "the burst is let in, the tripping message to be held: \(result)")
            if try host.postfix.queue().contains(where: { $0.queueID == result.queueID && $0.isHeld }) {
                trippedOn = host
                tripped = result.queueID
                break
            }
            if number >= 6 {
                // Quarantine is at end of message: give the queue a moment before deciding it did not trip.
                if (try within(2) { try host.postfix.queue().contains { $0.queueID == result.queueID && $0.isHeld } }) != nil {
                    trippedOn = host
                    tripped = result.queueID
                    break
                }
            }
        }
        let lockingHost = try #require(trippedOn, "six messages in the burst window summed over both hosts trip the lock")
        _ = try #require(tripped)
        let other = lockingHost === hosts.hostA ? hosts.hostB : hosts.hostA
        // The other host refuses the account within a second of the lock.
        let delay = try within(1) {
            let attempt = try other.submit(as: "mallory", subject: "after the lock")
            return attempt.recipients.first?.response.code == 550
        }
        #expect(delay != nil, "the lock is in force on the other host within 1 s")

        // Both vigiectl see the same lock, audit line and evidence.
        let showA = try hosts.hostA.ctl("show", "mallory")
        let showB = try hosts.hostB.ctl("show", "mallory")
        #expect(showA.stdout.contains("LOCKED") && showB.stdout.contains("LOCKED"), "\(showA)\n\(showB)")
        if let tripped { #expect(showA.stdout.contains(tripped) && showB.stdout.contains(tripped)) }

        // kill -9 of host A's daemon loses no lock: at restart it is read from Redis.
        hosts.hostA.killDaemon()
        try hosts.hostA.startDaemon()
        let afterCrash = try hosts.hostA.submit(as: "mallory", subject: "after the crash")
        #expect(afterCrash.recipients.first?.response.code == 550, "\(afterCrash)")

        // Unlock on B, and A lets mail flow again.
        let unlock = try hosts.hostB.ctl("unlock", "mallory", "--reason", "password changed")
        #expect(unlock.succeeded, "\(unlock)")
        let flows = try within(1) { try hosts.hostA.submit(as: "mallory", subject: "legit again").accepted }
        #expect(flows != nil, "the unlock recorded on B is in force on A within 1 s")
        #expect(try hosts.hostA.ctl("show", "mallory").stdout.contains("unlock"))
    }

    @Test("Redis stopped during traffic: both hosts enforce their local limits, nothing is accepted undecided, counts reconcile")
    func redisDownDuringTraffic() throws {
        let hosts = try TwoHosts(limits: Self.sixPerHour)
        for host in [hosts.hostA, hosts.hostB, hosts.hostA, hosts.hostB] {
            #expect(try host.submit(as: "sacha").accepted)
        }
        // A hung server (SIGSTOP): every call times out after redis_timeout.
        hosts.redis.pause()
        var acceptedOnA = 0
        for number in 0..<6 {
            let started = Date()
            let result = try hosts.hostA.submit(as: "sacha", subject: "outage \(number)")
            #expect(Date().timeIntervalSince(started) < 3, "a decision waits on Redis at most its bound")
            let code = result.recipients.first?.response.code
            // A decision every time: accepted, or refused by the limit; never a tempfail for want of one.
            #expect(result.accepted || code == 450, "\(result)")
            if result.accepted { acceptedOnA += 1 }
        }
        // Host A had counted two of its own before: its local limit lets four more in.
        #expect(acceptedOnA == 4)
        #expect(try hosts.hostB.submit(as: "sacha", subject: "outage on B").accepted)
        for host in [hosts.hostA, hosts.hostB] {
            let metrics = try host.scrapeMetrics()
            #expect(host.metric("vigie_store_degraded", in: metrics) == 1, "\(metrics)")
            #expect((host.metric("vigie_store_errors_total", in: metrics) ?? 0) >= 1)
        }
        #expect(hosts.hostA.log().contains("shared counts unreachable"))

        hosts.redis.resume()
        // Reconciled: the four shared before, and the five counted alone (four on A, one on B).
        let reconciled = try within(5) { try hosts.sharedCount("sacha", "messages/hour") == "9" }
        let shared = try hosts.sharedCount("sacha", "messages/hour")
        #expect(reconciled != nil, "counts after the outage: \(shared)")
        let recovered = try within(3) { try hosts.hostB.metric("vigie_store_degraded", in: hosts.hostB.scrapeMetrics()) == 0 }
        #expect(recovered != nil)
        // Host B alone has counted three, but the shared total refuses it now.
        let refused = try hosts.hostB.submit(as: "sacha", subject: "after the outage")
        #expect(refused.recipients.first?.response.code == 450, "\(refused)")
        #expect(hosts.hostB.log().contains("shared counts reachable again"))
    }
}
