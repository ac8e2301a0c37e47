/// The two counting scripts behind `RedisSharedCounters`: one round trip per
/// decision, atomic across every host sharing the server.
///
/// The arithmetic is `SlidingWindowCount`'s (VigieCore), written again in Lua
/// because the decision to count must happen where the counts are: `advance`
/// (fixed windows aligned on multiples of the length; one step moves current to
/// previous, more forget both; a clock behind the window start changes nothing) and
/// `fits` in integers scaled by the length. Lua numbers are doubles: exact while
/// count × window length stays under 2^53, about 100 million per day window.
///
/// Time is the server's (`TIME`), read once per call: every host counts on one
/// clock, so host clock skew does not matter for the windows. (Redis replicates a
/// script's effects, not the script, so reading TIME before writing is allowed.)
///
/// ARGV for both: recipients, refusal threshold (-1 for none), number of windows,
/// then per window: name, length in ms, limit (-1 for none), metric ("messages" or
/// "recipients"), role ("limit" or "burst"); the check adds "count refusal" (0/1)
/// at the end, the commit the same flag, and the add the number of messages. The hash holds `NAME:s`, `NAME:p`, `NAME:c` per window and `refusals`.
/// Reply: {verdict, now, refusals, longest window, then per window {name, start,
/// previous, current, fits}} with verdict "accept", "refuse" or "burst".
extension RedisSharedCounters {
    private static let common = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local recipients = tonumber(ARGV[1])
        local refusal_threshold = tonumber(ARGV[2])
        local count = tonumber(ARGV[3])
        local windows = {}
        local longest = 0
        for i = 0, count - 1 do
          local base = 4 + i * 5
          local w = {name = ARGV[base], length = tonumber(ARGV[base + 1]), limit = tonumber(ARGV[base + 2]),
                     metric = ARGV[base + 3], role = ARGV[base + 4]}
          w.amount = (w.metric == 'messages') and 1 or recipients
          local saved = redis.call('HMGET', KEYS[1], w.name .. ':s', w.name .. ':p', w.name .. ':c')
          w.start = tonumber(saved[1]) or 0
          w.previous = tonumber(saved[2]) or 0
          w.current = tonumber(saved[3]) or 0
          -- SlidingWindowCount.advance
          if not (now >= w.start and now - w.start < w.length) then
            local aligned = now - now % w.length
            if aligned > w.start then
              if aligned - w.start == w.length then w.previous = w.current else w.previous = 0 end
              w.current = 0
              w.start = aligned
            end
          end
          -- SlidingWindowCount.fits
          if w.limit < 0 then
            w.fits = 1
          else
            local elapsed = math.min(math.max(0, now - w.start), w.length)
            local decaying = w.previous * (w.length - elapsed)
            w.fits = (decaying + (w.current + w.amount) * w.length <= w.limit * w.length) and 1 or 0
          end
          if w.length > longest then longest = w.length end
          windows[#windows + 1] = w
        end
        local refused, burst = false, false
        for _, w in ipairs(windows) do
          if w.fits == 0 then
            if w.role == 'limit' then refused = true else burst = true end
          end
        end
        local refusals = tonumber(redis.call('HGET', KEYS[1], 'refusals')) or 0
        local function reply(verdict)
          local out = {verdict, now, refusals, longest}
          for _, w in ipairs(windows) do
            out[#out + 1] = {w.name, w.start, w.previous, w.current, w.fits}
          end
          return out
        end

        """

    /// RCPT: decides without counting the message. A refusal the caller marks as
    /// the message's first is counted towards "refused in a row", and reaching the
    /// threshold is a burst.
    static let checkScript = RedisScript(name: "count-check", source: common + """
        if refused then
          if ARGV[#ARGV] == '1' then
            refusals = redis.call('HINCRBY', KEYS[1], 'refusals', 1)
            redis.call('PEXPIRE', KEYS[1], 2 * longest)
          end
          if refusal_threshold >= 0 and refusals >= refusal_threshold then return reply('burst') end
          return reply('refuse')
        end
        if burst then return reply('burst') end
        return reply('accept')
        """)

    /// End of message: decides again with the final recipients (another host may
    /// have counted since RCPT) and counts the message only if it is accepted. A
    /// burst is accepted and counted (the message is kept as evidence of the lock).
    /// The key lives twice the longest window: a count stops mattering only once it
    /// has decayed through the next fixed window, as `PackedCounters.isIdle` says.
    static let commitScript = RedisScript(name: "count-commit", source: common + """
        if refused then
          if ARGV[#ARGV] == '1' then
            refusals = redis.call('HINCRBY', KEYS[1], 'refusals', 1)
            redis.call('PEXPIRE', KEYS[1], 2 * longest)
          end
          return reply('refuse')
        end
        local fields = {}
        for _, w in ipairs(windows) do
          w.current = math.min(w.current + w.amount, 4294967295)
          -- %d: a plain number argument could be sent as 1.75e+12.
          fields[#fields + 1] = w.name .. ':s'; fields[#fields + 1] = string.format('%d', w.start)
          fields[#fields + 1] = w.name .. ':p'; fields[#fields + 1] = string.format('%d', w.previous)
          fields[#fields + 1] = w.name .. ':c'; fields[#fields + 1] = string.format('%d', w.current)
        end
        fields[#fields + 1] = 'refusals'; fields[#fields + 1] = 0
        refusals = 0
        redis.call('HSET', KEYS[1], unpack(fields))
        redis.call('PEXPIRE', KEYS[1], 2 * longest)
        if burst then return reply('burst') end
        return reply('accept')
        """)

    /// Reconciliation: adds counts taken by a host alone (Redis was away) to every
    /// window, limits aside (`common` decides nothing that is used here). The
    /// messages are ARGV[#ARGV], the recipients ARGV[1]. Refusals in a row are left
    /// as they are: a host's local refusals stay its own.
    static let addScript = RedisScript(name: "count-add", source: common + """
        local messages = tonumber(ARGV[#ARGV])
        local fields = {}
        for _, w in ipairs(windows) do
          local amount = (w.metric == 'messages') and messages or recipients
          w.current = math.min(w.current + amount, 4294967295)
          fields[#fields + 1] = w.name .. ':s'; fields[#fields + 1] = string.format('%d', w.start)
          fields[#fields + 1] = w.name .. ':p'; fields[#fields + 1] = string.format('%d', w.previous)
          fields[#fields + 1] = w.name .. ':c'; fields[#fields + 1] = string.format('%d', w.current)
        end
        redis.call('HSET', KEYS[1], unpack(fields))
        redis.call('PEXPIRE', KEYS[1], 2 * longest)
        return reply('accept')
        """)
}
