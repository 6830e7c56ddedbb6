import { parseArgs } from 'node:util';
import { loadClientConfig, TestbedError } from '../../core/index.js';
import { ApiError, type ApiClient, apiClient } from './http.js';

/** Where an admin command writes and what it reads; the entry file passes the process's. */
export interface AdminIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Record<string, string | undefined>;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly required?: boolean;
  /** Shown in the help, e.g. `<id>`. */
  readonly arg?: string;
  readonly description: string;
}

type Value = string | boolean | string[] | undefined;

/** What an action gets: the API client, its options by name and its positional arguments. */
export interface ActionContext {
  readonly api: ApiClient;
  readonly options: Readonly<Record<string, Value>>;
  readonly args: readonly string[];
}

/** What an action answers: the API's body for --json, and the same for people. */
export interface ActionResult {
  readonly json: unknown;
  readonly text: string;
}

export interface Action {
  readonly summary: string;
  /** Names of the positional arguments, all required, e.g. `['pilotId']`. */
  readonly args?: readonly string[];
  readonly options?: Readonly<Record<string, OptionSpec>>;
  run(context: ActionContext): Promise<ActionResult>;
}

/** A resource of the API and what may be done with it: `testbed <name> <action>`. */
export interface Resource {
  readonly name: string;
  readonly summary: string;
  readonly actions: Readonly<Record<string, Action>>;
  /** Examples shown at the end of the resource's help. */
  readonly examples: readonly string[];
}

const COMMON: Readonly<Record<string, OptionSpec>> = {
  url: { type: 'string', arg: '<url>', description: "the server's API (default $TESTBED_API_URL, or http://127.0.0.1:$TESTBED_HTTP_PORT)" },
  key: { type: 'string', arg: '<key>', description: 'the API key to act with (default $TESTBED_API_KEY)' },
  json: { type: 'boolean', description: "print the API's JSON answer, for scripts" },
  help: { type: 'boolean', description: 'show this help' },
};

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `--${name}${o.arg ? ` ${o.arg}` : ''}`;
    const notes = [o.required ? 'required' : '', o.multiple ? 'repeatable' : ''].filter(Boolean).join(', ');
    return `  ${flag.padEnd(24)}${o.description}${notes ? ` (${notes})` : ''}`;
  });
}

export function resourceUsage(resource: Resource): string {
  const synopsis = Object.entries(resource.actions).map(
    ([name, a]) => `  testbed ${resource.name} ${name}${(a.args ?? []).map((n) => ` <${n}>`).join('')}`.padEnd(44) + a.summary,
  );
  return [
    `Usage: testbed ${resource.name} <action> [options]`,
    '',
    resource.summary,
    '',
    ...synopsis,
    '',
    'Every action takes:',
    ...optionLines(COMMON),
    '',
    `testbed ${resource.name} <action> --help lists an action's own options.`,
    '',
    'Examples:',
    ...resource.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

export function actionUsage(resource: Resource, name: string, action: Action): string {
  const args = (action.args ?? []).map((n) => ` <${n}>`).join('');
  const own = action.options && Object.keys(action.options).length > 0 ? ['', 'Options:', ...optionLines(action.options)] : [];
  return [`Usage: testbed ${resource.name} ${name}${args} [options]`, '', action.summary, ...own, '', 'Common options:', ...optionLines(COMMON), ''].join('\n');
}

/** Runs `testbed <resource> <action> ...`: returns the exit status (0 done, 1 refused by the API or unreachable, 2 bad usage). */
export async function runResource(resource: Resource, argv: readonly string[], io: AdminIo): Promise<number> {
  const [name, ...rest] = argv;
  const usageError = (problems: string[], hint = `testbed ${resource.name} --help`) => {
    io.stderr.write(`testbed ${resource.name}${name && !name.startsWith('-') ? ` ${name}` : ''}: ${problems.join('\n  ')}\nRun ${hint} for the options.\n`);
    return 2;
  };
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(resourceUsage(resource));
    return 0;
  }
  const action = Object.hasOwn(resource.actions, name) ? resource.actions[name] : undefined;
  if (!action) return usageError([`unknown action ${JSON.stringify(name)}; one of: ${Object.keys(resource.actions).join(', ')}`]);
  const hint = `testbed ${resource.name} ${name} --help`;
  const specs = { ...action.options, ...COMMON };
  let values: Record<string, Value>;
  let positionals: string[];
  try {
    const options = Object.fromEntries(
      Object.entries(specs).map(([n, o]) => [n, { type: o.type, multiple: o.multiple ?? false, ...(n === 'help' ? { short: 'h' } : {}) }]),
    );
    ({ values, positionals } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true }) as {
      values: Record<string, Value>;
      positionals: string[];
    });
  } catch (err) {
    return usageError([(err as Error).message], hint);
  }
  if (values.help) {
    io.stdout.write(actionUsage(resource, name, action));
    return 0;
  }
  const problems: string[] = [];
  const wanted = action.args ?? [];
  if (positionals.length < wanted.length)
    problems.push(
      `missing ${wanted
        .slice(positionals.length)
        .map((n) => `<${n}>`)
        .join(' ')}`,
    );
  if (positionals.length > wanted.length) problems.push(`unexpected argument ${JSON.stringify(positionals[wanted.length])}`);
  for (const [n, o] of Object.entries(specs)) if (o.required && values[n] === undefined) problems.push(`--${n} is required`);
  let client;
  try {
    client = loadClientConfig(io.env);
  } catch (err) {
    return usageError([...problems, err instanceof TestbedError ? `${err.code}: ${err.message}` : String(err)], hint);
  }
  const key = (values.key as string | undefined) ?? client.apiKey;
  if (!key) problems.push('no API key: give --key <key> or set TESTBED_API_KEY (the admin key is in the data folder, admin-token)');
  const url = ((values.url as string | undefined) ?? client.apiUrl).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) problems.push(`--url must be an http:// or https:// address, not ${JSON.stringify(url)}`);
  if (problems.length > 0 || !key) return usageError(problems, hint);

  try {
    const result = await action.run({ api: apiClient(url, key), options: values, args: positionals });
    io.stdout.write(values.json ? `${JSON.stringify(result.json, null, 2)}\n` : result.text);
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      io.stderr.write(`testbed ${resource.name} ${name}: ${err.code}: ${err.message}\n${detailLines(err.details)}`);
      return 1;
    }
    if (err instanceof TestbedError) {
      io.stderr.write(`testbed ${resource.name} ${name}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** The field problems of a 400, one a line. */
function detailLines(details: unknown): string {
  if (!Array.isArray(details)) return '';
  return details.map((d: { field?: string; in?: string; message?: string }) => `  ${d.field ?? d.in ?? ''}: ${d.message ?? JSON.stringify(d)}\n`).join('');
}
