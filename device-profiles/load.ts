import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestbedError } from '../core/index.js';
import { compileProfile, type CompiledProfile } from './compile.js';
import { profileSchema } from './format.js';

/** The profiles that ship with the package: the folder of this module in the source tree. */
export function bundledProfilesDir(): string {
  // This module runs from `device-profiles/` in the source tree and from
  // `dist/device-profiles/` when built; the JSON files stay in the source folder.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'device-profiles');
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the package root to load device profiles from');
    dir = parent;
  }
}

export type ProfileCatalogue = ReadonlyMap<string, CompiledProfile>;

/**
 * Loads and checks every `*.json` profile in `dir`. Any broken profile stops
 * start with one TESTBED_PROFILE_INVALID error naming each file and problem.
 */
export function loadProfiles(dir: string = bundledProfilesDir()): ProfileCatalogue {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const problems: string[] = [];
  const catalogue = new Map<string, CompiledProfile>();
  for (const file of files) {
    const where = path.join(dir, file);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(where, 'utf8'));
    } catch (err) {
      problems.push(`${where}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const parsed = profileSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${where}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
      continue;
    }
    if (`${parsed.data.id}.json` !== file) problems.push(`${where}: id "${parsed.data.id}" must match the file name`);
    else catalogue.set(parsed.data.id, compileProfile(parsed.data));
  }
  if (files.length === 0) problems.push(`${dir}: no *.json device profiles`);
  if (problems.length > 0) throw new TestbedError('TESTBED_PROFILE_INVALID', `Invalid device profiles:\n  ${problems.join('\n  ')}`);
  return catalogue;
}
