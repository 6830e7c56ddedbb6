import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { TestbedError, isErrorCode, type ErrorCode } from '../core/index.js';
import { BODY_LIMIT_BYTES } from './limits.js';
import type { ErrorBody, FieldProblem } from './schemas/error.js';

/** A validation failure as fastify-type-provider-zod reports it: one entry per zod issue. */
interface ZodIssueReport {
  readonly keyword: string;
  readonly instancePath: string;
  readonly message: string;
  readonly params: { readonly keys?: readonly string[]; readonly params?: { readonly code?: unknown } };
}

/** Fastify's own request errors, translated into the catalogue. */
const FASTIFY_ERRORS: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'TESTBED_PAYLOAD_TOO_LARGE', message: `The request body is larger than ${BODY_LIMIT_BYTES} bytes` },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'TESTBED_BAD_REQUEST', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'TESTBED_BAD_REQUEST', message: 'The request body is empty; send a JSON object, or no Content-Type' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'TESTBED_BAD_REQUEST', message: 'Send the request body as JSON with Content-Type: application/json' },
};

type Part = FieldProblem['in'];

function problemsOf(part: Part, issues: readonly ZodIssueReport[]): FieldProblem[] {
  return issues.flatMap((issue) => {
    const path = issue.instancePath.split('/').filter(Boolean).join('.');
    if (issue.keyword === 'unrecognized_keys' && issue.params.keys) {
      return issue.params.keys.map((key) => ({ in: part, field: path ? `${path}.${key}` : key, message: 'is not a known field' }));
    }
    return [path ? { in: part, field: path, message: issue.message } : { in: part, message: issue.message }];
  });
}

/**
 * The code the schema named for this failure (a refine's `params.code`), when
 * every issue names the same one; a mix of problems is a plain bad request.
 */
function namedCode(issues: readonly ZodIssueReport[]): ErrorCode | undefined {
  const codes = new Set(issues.map((issue) => issue.params.params?.code));
  const [code] = codes;
  return codes.size === 1 && typeof code === 'string' && isErrorCode(code) ? code : undefined;
}

function fromValidation(part: Part, issues: readonly ZodIssueReport[]): TestbedError {
  const problems = problemsOf(part, issues);
  const code = namedCode(issues);
  if (code) return new TestbedError(code, issues[0]?.message, problems);
  const summary = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ');
  return new TestbedError('TESTBED_BAD_REQUEST', `Invalid ${part}: ${summary}`, problems);
}

/**
 * Translates anything a request can fail with into a catalogue error. What is
 * not recognised becomes TESTBED_INTERNAL; its message never reaches the client.
 */
export function toTestbedError(err: unknown): TestbedError {
  if (err instanceof TestbedError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    // Fastify names the part it validated: body, querystring, params or headers.
    const part = (err as { validationContext?: Part }).validationContext ?? 'body';
    return fromValidation(part, err.validation as unknown as ZodIssueReport[]);
  }
  const fastify = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  const known = typeof fastify.code === 'string' ? FASTIFY_ERRORS[fastify.code] : undefined;
  if (known) return new TestbedError(known.code, known.message);
  // Other client errors fastify detects itself (bad Content-Length, malformed URL, ...).
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500 && typeof fastify.message === 'string') {
    return new TestbedError('TESTBED_BAD_REQUEST', fastify.message);
  }
  return new TestbedError('TESTBED_INTERNAL');
}

/**
 * The response body for a catalogue error. `details` is typed `unknown` on
 * TestbedError; the API only ever attaches field problems or a plain object,
 * and the response schema checks that on the way out.
 */
export function errorBody(error: TestbedError, message: string = error.message): ErrorBody {
  if (error.details === undefined) return { error: { code: error.code, message } };
  return { error: { code: error.code, message, details: error.details as ErrorBody['error']['details'] } };
}
