/**
 * Webhooks: the events of the bus, signed (Standard Webhooks) and posted to
 * the receivers that asked for them, from a durable outbox in the registry.
 */
export { startWebhookDispatcher, payloadOf, type WebhookDispatcher, type WebhookDispatcherDeps } from './dispatcher.js';
export { sign, signingKey, webhookHeaders } from './signature.js';
