export type { AuditEntry, AuditTrail } from './types.js';
export {
  RedisAuditTrail,
  REDIS_AUDIT_TRAIL_DEFAULTS,
  type AuditTrim,
  type RedisAuditTrailOptions,
} from './redis-audit-trail.js';
export {
  MemoryAuditTrail,
  MEMORY_AUDIT_TRAIL_DEFAULTS,
  type MemoryAuditTrailOptions,
} from './memory-audit-trail.js';
export { combineObservers } from './combine.js';
export { parseAuditFields, toAuditFields, type AuditFields } from './entry.js';
export { BROKER_ERROR_KINDS, LOGIN_OUTCOMES, LOGIN_REASONS, isOneOf } from '../relay/vocabulary.js';
