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
/// ARGV for all three: recipients, refusal threshold (-1 for none), "count this
/// refusal" (0/1), messages to add (the add script's; 0 otherwise), and the windows'
/// specification, one binary string (`WindowEncodings.Encoded.spec`: the layout, then
/// each window's length, limit and kind). KEYS[1] holds the account's
/// `SharedWindowsRecord`, one string (layout, refusals in a row, then each window's
/// start, previous and current), with a TTL of twice the longest window.
/// Reply: {verdict, now, longest window, record, fits}: verdict "accept", "refuse"
/// or "burst", the record as it now stands (written or not), and fits the sum of
/// 2^(i-1) over the windows i the message fits in.
///
/// Why this shape (`sudo benchmarks/redis-script/run.sh`: the scripts alone, on
/// loopback, µs of server time per call): the script is what the server spends on
/// a message, and a single-threaded server spends it in turn for every host. What
/// costs in Lua is strings and calls back into Redis: each argument is a Lua string
/// made by Redis, each decimal a `tonumber`, each `redis.call` a command of its
/// own. So the windows travel as one binary argument read by one `struct.unpack`,
/// the counts live in one string read by one GET and one `struct.unpack`, and one
/// `struct.pack` and one SET with PX write them and their expiry. (Three decimal
/// fields a window, then one binary hash field a window, were the layouts before.)
extension RedisSharedCounters {
    private static let common = """
        -- Locals, not globals: each global or math.* use is a table lookup in Lua 5.1.
        local tonumber, min, max, floor, pack, unpack_struct, rep = tonumber, math.min, math.max, math.floor, struct.pack, struct.unpack, string.rep
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
        local recipients = tonumber(ARGV[1])
        local refusal_threshold = tonumber(ARGV[2])
        local spec = ARGV[5]
        local count = (#spec - 4) / 17
        if count < 1 or count ~= floor(count) then return redis.error_reply('a window specification of ' .. #spec .. ' bytes') end
        -- s: layout, then length, limit, kind of each window.
        local s = {unpack_struct('<I4' .. rep('ddB', count), spec)}
        local layout = s[1]
        local format = '<I4I4' .. rep('dI4I4', count)
        -- r: layout, refusals, then start, previous, current of each window.
        local r
        local saved = redis.call('GET', KEYS[1])
        if saved then
          if #saved ~= 8 + 16 * count then
            return redis.error_reply('the shared counts of ' .. KEYS[1] .. ' hold ' .. #saved .. ' bytes, not ' .. (8 + 16 * count))
          end
          r = {unpack_struct(format, saved)}
          r[3 + 3 * count] = nil  -- unpack's last value: the position after the record
          if r[1] ~= layout then
            return redis.error_reply('the shared counts of ' .. KEYS[1] .. ' are for another list of windows')
          end
        else
          r = {layout, 0}
          for i = 3, 2 + 3 * count do r[i] = 0 end
        end
        local amounts = {}
        local fits = 0
        local longest = 0
        local refused, burst = false, false
        for i = 1, count do
          local b = 3 * i - 1
          local length, limit, kind = s[b], s[b + 1], s[b + 2]
          local amount = recipients
          if kind % 2 == 1 then amount = 1 end
          local k = 3 * i
          local start, prev, cur = r[k], r[k + 1], r[k + 2]
          -- SlidingWindowCount.advance
          if not (now >= start and now - start < length) then
            local aligned = now - now % length
            if aligned > start then
              if aligned - start == length then prev = cur else prev = 0 end
              cur = 0
              start = aligned
            end
          end
          r[k], r[k + 1], r[k + 2] = start, prev, cur
          -- SlidingWindowCount.fits
          local fit = true
          if limit >= 0 then
            local elapsed = min(max(0, now - start), length)
            if prev * (length - elapsed) + (cur + amount) * length > limit * length then
              fit = false
              if kind < 2 then refused = true else burst = true end
            end
          end
          if fit then fits = fits + 2 ^ (i - 1) end
          amounts[i] = amount
          if length > longest then longest = length end
        end
        -- Counts the message in every window: `messages` messages (nil: this one).
        local function count_in(messages)
          for i = 1, count do
            local amount = amounts[i]
            if messages ~= nil and s[3 * i + 1] % 2 == 1 then amount = messages end
            r[3 * i + 2] = min(r[3 * i + 2] + amount, 4294967295)
          end
        end
        -- The reply; `write` stores the record first, its expiry with it.
        local function finish(verdict, write)
          local record = pack(format, unpack(r))
          if write then redis.call('SET', KEYS[1], record, 'PX', 2 * longest) end
          return {verdict, now, longest, record, fits}
        end

        """

    /// RCPT: decides without counting the message. A refusal the caller marks as
    /// the message's first is counted towards "refused in a row", and reaching the
    /// threshold is a burst.
    static let checkScript = RedisScript(name: "count-check", source: common + """
        if refused then
          local write = ARGV[3] == '1'
          if write then r[2] = r[2] + 1 end
          if refusal_threshold >= 0 and r[2] >= refusal_threshold then return finish('burst', write) end
          return finish('refuse', write)
        end
        if burst then return finish('burst', false) end
        return finish('accept', false)
        """)

    /// End of message: decides again with the final recipients (another host may
    /// have counted since RCPT) and counts the message only if it is accepted. A
    /// burst is accepted and counted (the message is kept as evidence of the lock).
    /// The key lives twice the longest window: a count stops mattering only once it
    /// has decayed through the next fixed window, as `PackedCounters.isIdle` says.
    static let commitScript = RedisScript(name: "count-commit", source: common + """
        if refused then
          local write = ARGV[3] == '1'
          if write then r[2] = r[2] + 1 end
          return finish('refuse', write)
        end
        count_in(nil)
        r[2] = 0
        if burst then return finish('burst', true) end
        return finish('accept', true)
        """)

    /// Reconciliation: adds counts taken by a host alone (Redis was away) to every
    /// window, limits aside (`common` decides nothing that is used here). The
    /// messages are ARGV[4], the recipients ARGV[1]. Refusals in a row are left as
    /// they are: a host's local refusals stay its own.
    static let addScript = RedisScript(name: "count-add", source: common + """
        count_in(tonumber(ARGV[4]))
        return finish('accept', true)
        """)
}
