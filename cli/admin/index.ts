/**
 * The admin commands: `testbed companies|pilots|devices|keys <action>`, each a
 * thin client of a running server's HTTP API (one client module, http.ts).
 */
import type { Resource } from './command.js';
import { companies } from './companies.js';
import { devices } from './devices.js';
import { keys } from './keys.js';
import { pilots } from './pilots.js';

export { type AdminIo, runResource, resourceUsage } from './command.js';

export const RESOURCES: Readonly<Record<string, Resource>> = { companies, pilots, devices, keys };
