import { z } from 'zod';
import type { TestbedEvent } from './events.js';

/**
 * Commands to devices: the stored record the API shows, and the two MQTT
 * messages of the contract (what the gateway sends, what the device answers).
 * One definition, used by the registry, the gateway, the API and the simulators.
 */
const isoTime = z.iso.datetime({ offset: true });

/**
 * queued: stored, not yet acknowledged by the device; delivered: the device
 * sent PUBACK; succeeded / failed: the device answered; expired: its TTL passed
 * before an answer, and it is never sent again. The last three are final.
 */
export const commandStatusSchema = z.enum(['queued', 'delivered', 'succeeded', 'failed', 'expired']);
export type CommandStatus = z.infer<typeof commandStatusSchema>;
export const FINAL_COMMAND_STATUSES: ReadonlySet<CommandStatus> = new Set(['succeeded', 'failed', 'expired']);

export const commandParamsSchema = z.record(z.string(), z.unknown());

export const commandSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  pilotId: z.string(),
  companyId: z.string(),
  testbedId: z.string(),
  name: z.string().meta({ example: 'set_interval' }),
  params: commandParamsSchema,
  status: commandStatusSchema,
  /** The API key that sent it (`admin` for the configured admin token). */
  sentBy: z.string(),
  createdAt: isoTime,
  expiresAt: isoTime,
  deliveredAt: isoTime.nullable(),
  /** When it succeeded, failed or expired. */
  finishedAt: isoTime.nullable(),
  /** What the device answered with `ok: true`, if anything. */
  result: z.unknown().optional(),
  /** Why the device said it failed. */
  error: z.string().nullable(),
  /** Every status it has had, oldest first, with when it took it. */
  transitions: z.array(z.object({ status: commandStatusSchema, at: isoTime })),
});
export type Command = z.infer<typeof commandSchema>;

/** The message on `devices/{deviceId}/commands` (QoS 1). */
export const commandMessageSchema = z.object({
  id: z.string(),
  name: z.string(),
  params: commandParamsSchema,
  expiresAt: isoTime,
});
export type CommandMessage = z.infer<typeof commandMessageSchema>;

/** The device's answer on `devices/{deviceId}/commands/{commandId}/result`. */
export const commandResultSchema = z.strictObject({
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.string().max(1000).optional(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;

/** The event of a command taking its current status: `command.queued`, `command.delivered`, ... */
export function commandEvent(command: Command, at: number): TestbedEvent {
  return {
    type: `command.${command.status}`,
    at,
    testbedId: command.testbedId,
    companyId: command.companyId,
    pilotId: command.pilotId,
    deviceId: command.deviceId,
    data: { commandId: command.id, name: command.name, status: command.status, ...(command.error === null ? {} : { error: command.error }) },
  };
}
