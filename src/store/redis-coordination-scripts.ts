/**
 * The Lua scripts of `RedisCoordination`. Every transition is one script, so it is atomic across
 * relays. Scripts run as the relay's ACL user: each command they call must be granted too
 * (deploy/redis/users.acl.template).
 */

/** Extends the lock only if `ARGV[1]` holds it. ARGV: owner, TTL in ms. Returns 1 if it did. */
export const RENEW_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** Deletes the lock only if `ARGV[1]` holds it. Returns 1 if it did. */
export const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * `decode_login(raw)`: a stored value as a login table, or `nil` when it is no login at all (not
 * JSON, or without a loginId, a phase or an attempt count).
 */
const DECODE_LOGIN = `
local function decode_login(raw)
  local ok, login = pcall(cjson.decode, raw)
  if not ok or type(login) ~= 'table' or type(login.loginId) ~= 'string' or type(login.phase) ~= 'table'
    or type(login.attemptsUsed) ~= 'number' then
    return nil
  end
  return login
end
`;

/**
 * Prelude of the pending-login scripts: `load_login()` reads `KEYS[1]` and returns the decoded login
 * and its raw JSON when it is login `ARGV[1]`, else `nil` and why (`none` or `corrupt`).
 * Updates are written back with `SET … KEEPTTL`: the key keeps expiring at the login's deadline.
 */
const LOAD_LOGIN = `${DECODE_LOGIN}
local function load_login()
  local raw = redis.call('GET', KEYS[1])
  if not raw then return nil, 'none' end
  local login = decode_login(raw)
  if not login then return nil, 'corrupt' end
  if login.loginId ~= ARGV[1] then return nil, 'none' end
  return login, raw
end
`;

/** ARGV: loginId, the prompt refs as JSON text. Returns `saved`, `none` or `corrupt`. */
export const SAVE_PROMPTS_SCRIPT = `${LOAD_LOGIN}
local login, why = load_login()
if not login then return why end
login.prompts = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(login), 'KEEPTTL')
return 'saved'
`;

/**
 * Stores the pending login if `ARGV[1]` holds the lock and no other login is pending: never replaces
 * another login. A value that is no login at all (what `load_login` calls corrupt, and loadPending
 * treats as absent) is replaced, or no login could start until it expired. KEYS: lock, pending.
 * ARGV: owner, loginId, the login's JSON, its deadline (epoch ms, for `PXAT`). Returns `saved`,
 * `saved-over-corrupt`, `lock-lost` or `other-pending`; a repeat for login `ARGV[2]` is `saved` and
 * changes nothing (the stored copy, with any claim made since, wins).
 */
export const SAVE_PENDING_SCRIPT = `${DECODE_LOGIN}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lock-lost' end
local raw = redis.call('GET', KEYS[2])
local status = 'saved'
if raw then
  local other = decode_login(raw)
  if other and other.loginId == ARGV[2] then return 'saved' end
  if other then return 'other-pending' end
  status = 'saved-over-corrupt'
end
redis.call('SET', KEYS[2], ARGV[3], 'PXAT', ARGV[4])
return status
`;

/**
 * `time_key(iso)`: a stored time (`YYYY-MM-DDTHH:mm:ss.sssZ`, the only form stored) as two numbers
 * (date, time of day) whose order is the times' order, or `nil` for anything else. Not a string
 * comparison, which Lua does with the server's locale (strcoll), nor one 17-digit number, which a
 * double does not hold exactly.
 */
const TIME_KEY = `
local function time_key(iso)
  if type(iso) ~= 'string' or not string.match(iso, '^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$') then
    return nil
  end
  local digits = string.gsub(iso, '%D', '')
  return tonumber(string.sub(digits, 1, 8)), tonumber(string.sub(digits, 9))
end
`;

/**
 * `claim_input(key, input_id, now, forget_at)`: claims operator input `input_id` in the sorted set
 * `key` unless a claim of it is still remembered: drops the claims forgotten by `now`, adds this
 * one (`ZADD NX`: 0 when it is there already), and keeps the key until the last claim is
 * forgotten. Returns 1 when this caller got the input.
 */
const CLAIM_INPUT = `
local function claim_input(key, input_id, now, forget_at)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local added = redis.call('ZADD', key, 'NX', forget_at, input_id)
  if added == 1 then
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', key, math.max(1, tonumber(last[2]) - tonumber(now)))
  end
  return added
end
`;

/**
 * Claims the code, checking in this order: the operator input that carried it, when one is given
 * (`input-taken`), the login (`none`), its phase (`busy`), when the code was written (`stale`),
 * the codes tried (`already-tried`), the attempts (`no-attempts-left`). A login saved before
 * `promptedAt` and `triedCodes` existed counts as prompted at `startedAt` with no code tried.
 * KEYS: pending, inputs. ARGV: loginId, relayId, operatorId, the code's digest, when it was written
 * (ISO 8601, or empty), maxAttempts, the inputId (or empty: no input to claim), now (ms), when the
 * input's claim is forgotten (ms). Returns `{'claimed', <the updated JSON>}`,
 * `{'busy', <the operatorId whose code is at the broker>}`, `{'stale', <promptedAt>}`,
 * `{'already-tried'}`, `{'no-attempts-left'}`, `{'input-taken'}`, `{'none'}` or `{'corrupt'}`.
 */
export const CLAIM_CODE_SCRIPT = `${LOAD_LOGIN}${TIME_KEY}${CLAIM_INPUT}
if ARGV[7] ~= '' and claim_input(KEYS[2], ARGV[7], ARGV[8], ARGV[9]) == 0 then return {'input-taken'} end
local login, why = load_login()
if not login then return {why} end
local phase = login.phase
if phase.kind == 'exchanging' and type(phase.operatorId) == 'string' then return {'busy', phase.operatorId} end
if phase.kind ~= 'awaiting-code' then return {'corrupt'} end
local prompted_at = login.promptedAt
if prompted_at == nil then prompted_at = login.startedAt end
local prompted_day, prompted_time = time_key(prompted_at)
if not prompted_day then return {'corrupt'} end
if ARGV[5] ~= '' then
  local written_day, written_time = time_key(ARGV[5])
  if not written_day then return redis.error_reply('writtenAt is not an ISO 8601 time') end
  if written_day < prompted_day or (written_day == prompted_day and written_time < prompted_time) then
    return {'stale', prompted_at}
  end
end
local tried_json = login.triedCodes
if tried_json == nil then tried_json = '[]' end
if type(tried_json) ~= 'string' then return {'corrupt'} end
local ok, tried = pcall(cjson.decode, tried_json)
if not ok or type(tried) ~= 'table' then return {'corrupt'} end
local entries = 0
for _ in pairs(tried) do entries = entries + 1 end
if entries ~= #tried then return {'corrupt'} end
for _, digest in ipairs(tried) do
  if type(digest) ~= 'string' then return {'corrupt'} end
  if digest == ARGV[4] then return {'already-tried'} end
end
if login.attemptsUsed >= tonumber(ARGV[6]) then return {'no-attempts-left'} end
table.insert(tried, ARGV[4])
login.triedCodes = cjson.encode(tried)
login.phase = {kind = 'exchanging', relayId = ARGV[2], operatorId = ARGV[3]}
if ARGV[10] ~= nil and ARGV[10] ~= '' then login.phase.inputId = ARGV[10] end
login.attemptsUsed = login.attemptsUsed + 1
local updated = cjson.encode(login)
redis.call('SET', KEYS[1], updated, 'KEEPTTL')
return {'claimed', updated}
`;

/** ARGV: loginId, relayId. Returns `reopened`, `none` or `corrupt`. */
export const REOPEN_SCRIPT = `${LOAD_LOGIN}
local login, why = load_login()
if not login then return why end
if login.phase.kind ~= 'exchanging' or login.phase.relayId ~= ARGV[2] then return 'none' end
login.phase = {kind = 'awaiting-code'}
redis.call('SET', KEYS[1], cjson.encode(login), 'KEEPTTL')
return 'reopened'
`;

/**
 * ARGV: loginId, the expected phase (`awaiting-code`, `exchanging` or `any`), the relayId expected
 * to hold the exchange (empty otherwise). Returns `{'ended', <the JSON as it was>}`, `{'none'}` or
 * `{'corrupt'}`.
 */
export const END_PENDING_SCRIPT = `${LOAD_LOGIN}
local login, raw = load_login()
if not login then return {raw} end
local kind = login.phase.kind
if ARGV[2] == 'awaiting-code' and kind ~= 'awaiting-code' then return {'none'} end
if ARGV[2] == 'exchanging' and (kind ~= 'exchanging' or login.phase.relayId ~= ARGV[3]) then return {'none'} end
redis.call('DEL', KEYS[1])
return {'ended', raw}
`;

/**
 * `script_now(arg)`: the time for the SMS budget, in epoch ms: `arg` when the caller gave one (a test's
 * clock), else Redis's own (`TIME`), read when the script runs.
 */
const SCRIPT_NOW = `
local function script_now(arg)
  local given = tonumber(arg)
  if given then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * The SMS guard: records a step-1 call now if fewer than the cap were made in the hour before.
 * KEYS: logins. ARGV: now (epoch ms, or '' for Redis's clock), the cap, a unique member, the window
 * (ms). Returns `{1}` when recorded, else `{0, <oldest spend's time>}`.
 */
export const SPEND_LOGIN_SCRIPT = `${SCRIPT_NOW}
local now = script_now(ARGV[1])
local window = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local spent = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf')
if spent < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, oldest[2]}
`;

/** Step-1 calls in the hour before now. KEYS: logins. ARGV: now (or ''), the window (ms). */
export const COUNT_LOGINS_SCRIPT = `${SCRIPT_NOW}
local now = script_now(ARGV[1])
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[2])), '+inf')
`;

/**
 * Claims operator input `ARGV[1]` (see `claim_input`). ARGV: inputId, now (ms), when this claim is
 * forgotten (ms). Returns 1 when this caller got the input.
 */
export const CLAIM_INPUT_SCRIPT = `${CLAIM_INPUT}
return claim_input(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
`;
