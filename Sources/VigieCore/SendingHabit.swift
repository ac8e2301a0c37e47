/// When and how much an account usually sends: what "9x usual hourly volume" and
/// "at an hour it never sends" are measured against.
///
/// - `hours`: messages by hour of day (UTC), halved all together when one bucket
///   would overflow, so old habits fade and the shape stays.
/// - `hourlyMean`: exponentially weighted mean of the messages sent in the hours
///   the account was active (an hour with nothing sent is not a data point: a
///   member who sends three messages one evening a week has an hourly habit of
///   three, not of 0.02).
/// - `dailyMean`: exponentially weighted mean over every day, idle days included.
struct SendingHabit: Sendable, Equatable {
    var hours: InlineArray<24, UInt8> = .init(repeating: 0)
    var hourlyMean: Float = 0
    var dailyMean: Float = 0
    /// Hours since the epoch of `hourCount`, days since the epoch of `dayCount`.
    var currentHour: UInt32 = 0
    var currentDay: UInt16 = 0
    var hourCount: UInt16 = 0
    var dayCount: UInt16 = 0
    /// Active hours seen (saturates): the hourly mean means little before a few.
    var activeHours: UInt16 = 0

    /// Weight of a new hour or day in the means: slow, so that an attacker who keeps
    /// sending for hours does not quickly become the account's "usual" volume.
    static let hourlyWeight: Float = 0.05
    static let dailyWeight: Float = 0.1

    init() {}

    static func == (lhs: Self, rhs: Self) -> Bool {
        (0..<24).allSatisfy { lhs.hours[$0] == rhs.hours[$0] } && lhs.hourlyMean == rhs.hourlyMean
            && lhs.dailyMean == rhs.dailyMean && lhs.currentHour == rhs.currentHour && lhs.currentDay == rhs.currentDay
            && lhs.hourCount == rhs.hourCount && lhs.dayCount == rhs.dayCount && lhs.activeHours == rhs.activeHours
    }

    /// Closes the hour and day windows that ended before `hour` / `day`.
    mutating func advance(hour: UInt32, day: UInt16) {
        if hour != currentHour {
            if hourCount > 0 {
                hourlyMean = activeHours == 0 ? Float(hourCount)
                    : hourlyMean + Self.hourlyWeight * (Float(hourCount) - hourlyMean)
                if activeHours < .max { activeHours += 1 }
            }
            currentHour = hour
            hourCount = 0
        }
        if day != currentDay {
            if currentDay != 0 {
                // The day that ended, then every idle day since, each a data point.
                dailyMean += Self.dailyWeight * (Float(dayCount) - dailyMean)
                let idleDays = Int(day &- currentDay) - 1
                if idleDays > 0 {
                    var keep: Float = 1
                    for _ in 0..<min(idleDays, 100) { keep *= 1 - Self.dailyWeight }
                    dailyMean *= keep
                }
            }
            currentDay = day
            dayCount = 0
        }
    }

    /// Counts one message in the current hour and day (call `advance` first).
    mutating func count(hourOfDay: Int, learnHour: Bool) {
        if hourCount < .max { hourCount += 1 }
        if dayCount < .max { dayCount += 1 }
        guard learnHour else { return }
        if hours[hourOfDay] == .max {
            for index in 0..<24 { hours[index] /= 2 }
        }
        hours[hourOfDay] += 1
    }

    /// Messages in the hour histogram.
    var hoursTotal: Int { (0..<24).reduce(0) { $0 + Int(hours[$1]) } }

    /// Whether `hourOfDay` is outside the habit: the hour and its two neighbours
    /// (daylight saving time moves a habit by an hour) hold under 2% of a histogram
    /// of at least 30 messages.
    func isUnusual(hourOfDay: Int) -> Bool {
        let total = hoursTotal
        guard total >= 30 else { return false }
        let around = Int(hours[(hourOfDay + 23) % 24]) + Int(hours[hourOfDay]) + Int(hours[(hourOfDay + 1) % 24])
        return around * 50 < total
    }

    /// This hour's count (this message included) against the hourly habit; 1 until
    /// the habit has a few active hours behind it.
    func hourlyRatio() -> Float {
        guard activeHours >= 3 else { return 1 }
        return Float(hourCount) / max(hourlyMean, 1)
    }
}
