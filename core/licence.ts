import { z } from 'zod';

/** The licence an open pilot gets when none is given. */
export const DEFAULT_LICENCE = 'CC-BY-4.0';

/**
 * An SPDX licence identifier (https://spdx.org/licenses/): a listed id such as
 * `CC-BY-4.0`, `CC0-1.0` or `ODbL-1.0`, or `LicenseRef-<name>` for a licence
 * outside the list (SPDX 2.3 §10.1). The form is checked, not the list, so a
 * newly listed licence needs no release.
 */
export const licenceSchema = z
  .string()
  .regex(/^(LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$/, 'an SPDX licence identifier, e.g. CC-BY-4.0, CC0-1.0, ODbL-1.0, or LicenseRef-<name>')
  .meta({ description: 'SPDX licence identifier', example: DEFAULT_LICENCE });

/** The licence's page: SPDX's for listed ids, none for a LicenseRef (its text is the publisher's). */
export function licenceUrl(id: string): string | undefined {
  return id.startsWith('LicenseRef-') ? undefined : `https://spdx.org/licenses/${id}.html`;
}
