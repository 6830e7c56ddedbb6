import { compileRule } from './compile.js';
import type { CommandDefinition, CommandParam, ConfigField } from './format-commands.js';
import { isProblem, checkValue } from './rules.js';

/** One thing wrong with a command's parameters: the parameter and why. */
export interface ParamProblem {
  readonly param: string;
  readonly message: string;
}

/** Checks one parameter's value; numbers go through the same check as a measurement's value. */
function checkParam(param: CommandParam | ConfigField, value: unknown): string | undefined {
  switch (param.type) {
    case 'number':
    case 'integer': {
      const rule = compileRule({ ...param, alternativeUnits: [] });
      const checked = checkValue(rule, value, rule.canonical);
      return isProblem(checked) ? checked.reason : undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${param.name} must be true or false`;
    case 'string':
      if (typeof value !== 'string') return `${param.name} must be a string`;
      if (param.enum && !param.enum.includes(value)) return `${param.name} must be one of ${param.enum.join(', ')}`;
      if (value.length > param.maxLength) return `${param.name} must be at most ${param.maxLength} characters`;
      return undefined;
  }
}

/**
 * Every problem with the parameters of a command: unknown names, missing
 * required ones, wrong types and values out of range. Empty when they fit.
 */
export function commandParamProblems(command: CommandDefinition, params: Readonly<Record<string, unknown>>): ParamProblem[] {
  const problems: ParamProblem[] = [];
  const declared = new Map(command.params.map((p) => [p.name, p] as const));
  for (const name of Object.keys(params)) {
    if (!declared.has(name)) {
      const known = command.params.map((p) => p.name).join(', ') || 'none';
      problems.push({ param: name, message: `${command.name} has no parameter ${name} (its parameters: ${known})` });
    }
  }
  for (const param of command.params) {
    const value = params[param.name];
    if (value === undefined) {
      if (!param.optional) problems.push({ param: param.name, message: `${param.name} is required` });
      continue;
    }
    const message = checkParam(param, value);
    if (message) problems.push({ param: param.name, message });
  }
  return problems;
}

/**
 * Every problem with a configuration document against the keys a profile
 * declares: unknown keys, wrong types and values out of range (numbers as
 * measurements are). Any subset of the keys may be given. Empty when it fits.
 */
export function configProblems(fields: readonly ConfigField[], config: Readonly<Record<string, unknown>>): ParamProblem[] {
  const declared = new Map(fields.map((f) => [f.name, f] as const));
  const problems: ParamProblem[] = [];
  for (const [key, value] of Object.entries(config)) {
    const field = declared.get(key);
    const message = field
      ? checkParam(field, value)
      : `no configuration key ${key} in this profile (its keys: ${fields.map((f) => f.name).join(', ') || 'none'})`;
    if (message) problems.push({ param: key, message });
  }
  return problems;
}
