export { EtnaBroker, type EtnaBrokerOptions } from './etna-client.js';
export {
  BrokerError,
  FATAL_BROKER_ERROR_KINDS,
  TRANSIENT_BROKER_ERROR_KINDS,
  type BrokerErrorKind,
  type BrokerErrorOptions,
  type BrokerStep,
} from './errors.js';
export type { Broker, StartLoginResult, SubmitCodeResult, TokenValidity } from './types.js';
