import type { CommandMessage, CommandResult } from '../core/index.js';

/** What a simulated device can do when told to. */
export interface Obedient {
  /** Reports every `ms` from now on. */
  setInterval(ms: number): void;
  /** Drops the connection and comes back, as a restarting device does. */
  reboot(): Promise<void>;
  /** Publishes again the payloads kept since `since` (epoch ms; all kept when undefined); returns how many. */
  resend(since: number | undefined): number;
}

/**
 * Carries out one of the standard commands (set_interval, reboot,
 * resend_backlog) and says how it went, as the device's result message.
 */
export async function obey(command: CommandMessage, device: Obedient): Promise<CommandResult> {
  switch (command.name) {
    case 'set_interval': {
      const seconds = command.params.seconds;
      if (typeof seconds !== 'number' || !(seconds > 0)) return { ok: false, error: 'seconds must be a positive number' };
      device.setInterval(seconds * 1000);
      return { ok: true, result: { intervalSeconds: seconds } };
    }
    case 'reboot':
      // Answered first, as a real device acknowledges before it restarts.
      setTimeout(() => void device.reboot(), 50).unref();
      return { ok: true };
    case 'resend_backlog': {
      const since = typeof command.params.since === 'string' ? Date.parse(command.params.since) : undefined;
      if (since !== undefined && Number.isNaN(since)) return { ok: false, error: 'since must be an ISO 8601 time' };
      return { ok: true, result: { resent: device.resend(since) } };
    }
    default:
      return { ok: false, error: `this simulated device does not know ${command.name}` };
  }
}
