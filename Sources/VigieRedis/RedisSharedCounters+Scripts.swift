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
/// ARGV for all three: recipients, refusal threshold (-1 for none), number of
/// windows, "count this refusal" (0/1), messages to add (the add script's; 0
/// otherwise), then four per window: name, length in ms, limit (-1 for none) and
/// kind (bit 0: counts messages, not recipients; bit 1: the burst rule's, not a
/// limit). The hash holds one field per window, named as the window, whose value is
/// `WindowRecord` (16 bytes: start as a little-endian double, previous and current
/// as little-endian u32), and `refusals` in decimal (HINCRBY's).
/// Reply: {verdict, now, refusals, longest window, windows}: verdict "accept",
/// "refuse" or "burst", and windows one string of 17 bytes per window in the order
/// sent, the record then fits (one byte, 0/1).
///
/// Why this shape (`sudo benchmarks/redis-script/run.sh`: the scripts alone, on
/// loopback, µs of server time per call): the script is what the server spends on
/// a message, and a single-threaded server spends it in turn for every host. Lua
/// strings are what it costs: three fields per window in decimal (25 fields for
/// the eight windows) made the commit build about 70 strings per call (field names,
/// `string.format` of each number, the reply's decimals), and HMGET of 25 fields
/// scans a 25-field hash 25 times; one binary field per window, named by an
/// argument Redis has already made a string, leaves one `struct.pack` per window
/// and one for the reply.
extension RedisSharedCounters {
    private static let common = """
        -- Locals, not globals: each global or math.* use is a table lookup in Lua 5.1.
        local tonumber, min, max, pack, unpack_record = tonumber, math.min, math.max, struct.pack, struct.unpack
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local recipients = tonumber(ARGV[1])
        local refusal_threshold = tonumber(ARGV[2])
        local count = tonumber(ARGV[3])
        -- Window i's four arguments start at ARGV[4 * i + 2]; its field is its name.
        -- One HMGET for every window and the refusals: each redis.call from Lua
        -- costs more than the command itself.
        local fields = {}
        for i = 1, count do fields[i] = ARGV[4 * i + 2] end
        fields[count + 1] = 'refusals'
        local saved = redis.call('HMGET', KEYS[1], unpack(fields))
        -- flat: start, previous, current, fits of each window, as the reply packs them.
        local flat, amounts, per_message = {}, {}, {}
        local longest = 0
        local refused, burst = false, false
        for i = 1, count do
          local base = 4 * i + 2
          local length = tonumber(ARGV[base + 1])
          local limit = tonumber(ARGV[base + 2])
          local kind = tonumber(ARGV[base + 3])
          local messages_metric = kind % 2 == 1
          local amount = recipients
          if messages_metric then amount = 1 end
          local start, prev, cur = 0, 0, 0
          local record = saved[i]
          if record then
            if #record ~= 16 then return redis.error_reply('window ' .. fields[i] .. ' holds ' .. #record .. ' bytes, not 16') end
            start, prev, cur = unpack_record('<dI4I4', record)
          end
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
              if kind < 2 then refused = true else burst = true end
            end
          end
          local j = 4 * i
          flat[j - 3] = start; flat[j - 2] = prev; flat[j - 1] = cur; flat[j] = fit
          amounts[i] = amount; per_message[i] = messages_metric
          if length > longest then longest = length end
        end
        local refusals = tonumber(saved[count + 1]) or 0
        local function reply(verdict)
          return {verdict, now, refusals, longest, pack('<' .. string.rep('dI4I4B', count), unpack(flat))}
        end
        -- Counts `messages` messages (nil: this one) in every window and returns
        -- the HSET arguments: each window's new record.
        local function counted(messages)
          local changes = {}
          for i = 1, count do
            local amount = amounts[i]
            if messages ~= nil and per_message[i] then amount = messages end
            local j = 4 * i
            flat[j - 1] = min(flat[j - 1] + amount, 4294967295)
            changes[2 * i - 1] = fields[i]; changes[2 * i] = pack('<dI4I4', flat[j - 3], flat[j - 2], flat[j - 1])
          end
          return changes
        end

        """

    /// RCPT: decides without counting the message. A refusal the caller marks as
    /// the message's first is counted towards "refused in a row", and reaching the
    /// threshold is a burst.
    static let checkScript = RedisScript(name: "count-check", source: common + """
        if refused then
          if ARGV[4] == '1' then
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
          if ARGV[4] == '1' then
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
    /// messages are ARGV[5], the recipients ARGV[1]. Refusals in a row are left as
    /// they are: a host's local refusals stay its own.
    static let addScript = RedisScript(name: "count-add", source: common + """
        redis.call('HSET', KEYS[1], unpack(counted(tonumber(ARGV[5]))))
        redis.call('PEXPIRE', KEYS[1], 2 * longest)
        return reply('accept')
        """)
}
