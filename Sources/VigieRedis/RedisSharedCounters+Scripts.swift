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
/// at the end, the commit the same flag, and the add the number of messages. The
/// hash holds `NAME:s`, `NAME:p`, `NAME:c` per window and `refusals`.
/// Reply: {verdict, now, refusals, longest window, windows} with verdict "accept",
/// "refuse" or "burst", and windows one string of decimal numbers separated by
/// spaces, per window in the order sent: start, previous, current, fits (an array
/// per window, then one integer each, cost the client more than the round trip).
extension RedisSharedCounters {
    private static let common = """
        -- Locals, not globals: each global or math.* use is a table lookup in Lua 5.1.
        local tonumber, min, max, format = tonumber, math.min, math.max, string.format
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local recipients = tonumber(ARGV[1])
        local refusal_threshold = tonumber(ARGV[2])
        local count = tonumber(ARGV[3])
        -- Window i's arguments start at ARGV[5 * i - 1]; its fields are fields[3 * i - 2 .. 3 * i].
        -- One HMGET for every window and the refusals: each redis.call from Lua
        -- costs more than the command itself. Plain arrays, not a table per window:
        -- growing a table's hash part field by field rehashed it several times.
        local fields = {}
        for i = 1, count do
          local name = ARGV[5 * i - 1]
          fields[3 * i - 2] = name .. ':s'; fields[3 * i - 1] = name .. ':p'; fields[3 * i] = name .. ':c'
        end
        fields[3 * count + 1] = 'refusals'
        local saved = redis.call('HMGET', KEYS[1], unpack(fields))
        local per_message, amounts, starts, previous, current, fits, moved = {}, {}, {}, {}, {}, {}, {}
        local longest = 0
        local refused, burst = false, false
        for i = 1, count do
          local base = 5 * i - 1
          local length = tonumber(ARGV[base + 1])
          local limit = tonumber(ARGV[base + 2])
          local messages_metric = ARGV[base + 3] == 'messages'
          local amount = messages_metric and 1 or recipients
          local start = tonumber(saved[3 * i - 2])
          local before = start
          local prev = tonumber(saved[3 * i - 1]) or 0
          local cur = tonumber(saved[3 * i]) or 0
          start = start or 0
          -- SlidingWindowCount.advance
          if not (now >= start and now - start < length) then
            local aligned = now - now % length
            if aligned > start then
              if aligned - start == length then prev = cur else prev = 0 end
              cur = 0
              start = aligned
            end
          end
          -- SlidingWindowCount.fits
          local fit = 1
          if limit >= 0 then
            local elapsed = min(max(0, now - start), length)
            if prev * (length - elapsed) + (cur + amount) * length > limit * length then
              fit = 0
              if ARGV[base + 4] == 'limit' then refused = true else burst = true end
            end
          end
          per_message[i] = messages_metric; amounts[i] = amount; starts[i] = start; previous[i] = prev; current[i] = cur; fits[i] = fit
          moved[i] = start ~= before
          if length > longest then longest = length end
        end
        local refusals = tonumber(saved[3 * count + 1]) or 0
        -- The windows in one string of numbers: 40 integers in a reply are 40 reply
        -- objects for hiredis to allocate and free on the daemon's side (callgrind).
        local function reply(verdict)
          local out = {}
          for i = 1, count do
            out[4 * i - 3] = format('%d', starts[i]); out[4 * i - 2] = previous[i]
            out[4 * i - 1] = current[i]; out[4 * i] = fits[i]
          end
          return {verdict, now, refusals, longest, table.concat(out, ' ')}
        end
        -- Counts `messages` messages (nil: this one) and returns the fields that
        -- changed for HSET: every current, and start and previous of a window that
        -- moved (or is new). %d: a plain number could be sent as 1.75e+12.
        local function counted(messages)
          local changes = {}
          for i = 1, count do
            local amount = amounts[i]
            if messages ~= nil and per_message[i] then amount = messages end
            current[i] = min(current[i] + amount, 4294967295)
            if moved[i] then
              changes[#changes + 1] = fields[3 * i - 2]; changes[#changes + 1] = format('%d', starts[i])
              changes[#changes + 1] = fields[3 * i - 1]; changes[#changes + 1] = format('%d', previous[i])
            end
            changes[#changes + 1] = fields[3 * i]; changes[#changes + 1] = format('%d', current[i])
          end
          return changes
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
        local changes = counted(nil)
        if refusals ~= 0 then
          changes[#changes + 1] = 'refusals'; changes[#changes + 1] = 0
          refusals = 0
        end
        redis.call('HSET', KEYS[1], unpack(changes))
        redis.call('PEXPIRE', KEYS[1], 2 * longest)
        if burst then return reply('burst') end
        return reply('accept')
        """)

    /// Reconciliation: adds counts taken by a host alone (Redis was away) to every
    /// window, limits aside (`common` decides nothing that is used here). The
    /// messages are ARGV[#ARGV], the recipients ARGV[1]. Refusals in a row are left
    /// as they are: a host's local refusals stay its own.
    static let addScript = RedisScript(name: "count-add", source: common + """
        redis.call('HSET', KEYS[1], unpack(counted(tonumber(ARGV[#ARGV]))))
        redis.call('PEXPIRE', KEYS[1], 2 * longest)
        return reply('accept')
        """)
}
