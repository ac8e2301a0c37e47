/// The Lua scripts behind `RedisStateStore`'s writes and multi-key reads.
///
/// Why scripts rather than MULTI/EXEC: a lock must be written only if the account
/// has none in force, and its id comes from INCR; MULTI cannot branch on a value it
/// reads. Redis runs a script to its end before any other client's command, so two
/// hosts locking one account at once get one lock, and a reader never sees a lock
/// without its audit line. Redis does not roll a script back when a command inside
/// fails, so each write script checks the types of its keys first and fails before
/// its first write.
///
/// Times, ids and counts cross as decimal text (ARGV is bytes); lock fields are
/// written with HSET so `redis-cli HGETALL vigie:lock:12` reads them.
extension RedisStateStore {
    /// Fails (as an error reply, before any write) when a key exists with another type.
    private static let typeGuard = """
        local function expect_type(key, wanted)
          local found = redis.call('TYPE', key).ok
          if found ~= 'none' and found ~= wanted then
            return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. found .. ', not a ' .. wanted)
          end
          return nil
        end

        """

    /// KEYS: locks in force, lock-id, audit list, account-locks list.
    /// ARGV: prefix, account, locked_at, actor, reason, audit line, channel, then
    /// (queue id, accepted_at) pairs. Returns {1, id} for a new lock, or
    /// {0, id, account, locked_at, actor, reason} for the lock already in force.
    static let recordLockScript = RedisScript(name: "record-lock", source: typeGuard + """
        local existing = redis.call('HGET', KEYS[1], ARGV[2])
        if existing then
          local lock = redis.call('HMGET', ARGV[1] .. 'lock:' .. existing, 'account', 'locked_at', 'actor', 'reason')
          return {0, existing, lock[1], lock[2], lock[3], lock[4]}
        end
        local problem = expect_type(KEYS[1], 'hash') or expect_type(KEYS[2], 'string')
          or expect_type(KEYS[3], 'list') or expect_type(KEYS[4], 'list')
        if problem then return problem end
        local id = redis.call('INCR', KEYS[2])
        local lock_key = ARGV[1] .. 'lock:' .. id
        local evidence_key = ARGV[1] .. 'evidence:' .. id
        problem = expect_type(lock_key, 'hash') or expect_type(evidence_key, 'hash')
        if problem then return problem end
        redis.call('HSET', lock_key, 'account', ARGV[2], 'locked_at', ARGV[3], 'actor', ARGV[4], 'reason', ARGV[5])
        redis.call('HSET', KEYS[1], ARGV[2], id)
        redis.call('RPUSH', KEYS[4], id)
        redis.call('RPUSH', KEYS[3], ARGV[6])
        local order = 0
        for i = 8, #ARGV, 2 do
          -- The same queue id twice keeps the first, as the SQLite store's UNIQUE does.
          if redis.call('HSETNX', evidence_key, ARGV[i], ARGV[i + 1] .. ' 0 ' .. order) == 1 then
            order = order + 1
          end
        end
        redis.call('PUBLISH', ARGV[7], cjson.encode({event = 'lock', id = id, account = ARGV[2]}))
        return {1, id}
        """)

    /// KEYS: the lock's hash, its evidence hash. ARGV: queue id, accepted_at, tripped (0/1), lock id.
    /// A queue id already there keeps its time and order and becomes tripped if
    /// either call said so (a retried end of message is harmless).
    static let addEvidenceScript = RedisScript(name: "add-evidence", source: typeGuard + """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return redis.error_reply('NOLOCK there is no lock ' .. ARGV[4])
        end
        local problem = expect_type(KEYS[2], 'hash')
        if problem then return problem end
        local current = redis.call('HGET', KEYS[2], ARGV[1])
        if current then
          if ARGV[3] == '1' then
            local accepted_at, _, order = string.match(current, '^(%S+) (%S+) (%S+)$')
            redis.call('HSET', KEYS[2], ARGV[1], accepted_at .. ' 1 ' .. order)
          end
          return 0
        end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. redis.call('HLEN', KEYS[2]))
        return 1
        """)

    /// KEYS: locks in force, audit list. ARGV: prefix, account, at, actor, reason,
    /// audit line, channel. Returns {0} when the account is not locked, else
    /// {1, id, account, locked_at, actor, reason} of the ended lock.
    static let recordUnlockScript = RedisScript(name: "record-unlock", source: typeGuard + """
        local id = redis.call('HGET', KEYS[1], ARGV[2])
        if not id then return {0} end
        local lock_key = ARGV[1] .. 'lock:' .. id
        local problem = expect_type(lock_key, 'hash') or expect_type(KEYS[2], 'list')
        if problem then return problem end
        local lock = redis.call('HMGET', lock_key, 'account', 'locked_at', 'actor', 'reason')
        redis.call('HSET', lock_key, 'unlocked_at', ARGV[3], 'unlocked_by', ARGV[4], 'unlock_reason', ARGV[5])
        redis.call('HDEL', KEYS[1], ARGV[2])
        redis.call('RPUSH', KEYS[2], ARGV[6])
        redis.call('PUBLISH', ARGV[7], cjson.encode({event = 'unlock', id = tonumber(id), account = ARGV[2]}))
        return {1, id, lock[1], lock[2], lock[3], lock[4]}
        """)

    /// KEYS: locks in force. ARGV: prefix. Returns {id, account, locked_at, actor, reason} per lock.
    static let activeLocksScript = RedisScript(name: "active-locks", source: """
        local out = {}
        for _, id in ipairs(redis.call('HVALS', KEYS[1])) do
          local lock = redis.call('HMGET', ARGV[1] .. 'lock:' .. id, 'account', 'locked_at', 'actor', 'reason')
          out[#out + 1] = {id, lock[1], lock[2], lock[3], lock[4]}
        end
        return out
        """)

    /// KEYS: the account's lock list. ARGV: prefix. Returns {id, locked_at, {queue id,
    /// "ACCEPTED_AT TRIPPED ORDER", ...}} per lock, oldest lock first.
    static let evidenceScript = RedisScript(name: "evidence", source: """
        local out = {}
        for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
          out[#out + 1] = {id, redis.call('HGET', ARGV[1] .. 'lock:' .. id, 'locked_at'),
                           redis.call('HGETALL', ARGV[1] .. 'evidence:' .. id)}
        end
        return out
        """)
}
