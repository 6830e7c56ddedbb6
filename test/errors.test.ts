import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../core/errors.js';

describe('error catalogue', () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('documents every code in the README', () => {
    const missing = Object.keys(ErrorCodes).filter((code) => !readme.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('documents no code that does not exist', () => {
    const documented = new Set(readme.match(/TESTBED_[A-Z_]+[A-Z]/g) ?? []);
    const envVars = [...documented].filter((name) => !Object.hasOwn(ErrorCodes, name));
    // Whatever else the README names with the prefix is a configuration variable.
    for (const name of envVars) expect(readme, name).toMatch(new RegExp(`\\| \`${name}\``));
  });

  it('gives every code an HTTP status and a message', () => {
    for (const [code, { status, message }] of Object.entries(ErrorCodes)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(message.length, code).toBeGreaterThan(5);
    }
  });
});
