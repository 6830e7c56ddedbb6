import type { FastifyReply, FastifyRequest } from 'fastify';
import { licenceUrl, type Pilot } from '../core/index.js';

/** The terms that travel with an open pilot's data: its licence, who to credit, how to cite. */
export interface OpenDataTerms {
  readonly licence: string;
  readonly attribution: string | null;
  readonly citation: string | null;
}

/** The terms of a pilot open now; undefined for one that is not (yet) open. */
export function termsOf(pilot: Pilot): OpenDataTerms | undefined {
  if (pilot.sharingNow !== 'open' || pilot.licence === null) return undefined;
  return { licence: pilot.licence, attribution: pilot.attribution, citation: pilot.citation };
}

const TERMS = 'openDataTerms';

/** Records the terms of the open pilot a request reached: `licenceHeaders` and the exports read them back. */
export function noteTerms(request: FastifyRequest, pilot: Pilot): void {
  const terms = termsOf(pilot);
  if (terms) request.setDecorator(TERMS, terms);
}

/** The terms noted for this request, if it reached an open pilot. */
export const notedTerms = (request: FastifyRequest): OpenDataTerms | undefined => request.getDecorator<OpenDataTerms | null>(TERMS) ?? undefined;

/**
 * Sends the licence with every answer about an open pilot: `Link: <url>;
 * rel="license"` (RFC 8288 §3, the `license` relation of RFC 4946), and the
 * SPDX id itself in `X-Licence` for a licence without a public page.
 */
export function licenceHeaders(reply: FastifyReply, terms: OpenDataTerms): void {
  const url = licenceUrl(terms.licence);
  if (url) void reply.header('link', `<${url}>; rel="license"`);
  void reply.header('x-licence', terms.licence);
}

/** The `#` line that opens a CSV export of an open pilot: licence, attribution, citation (see README, "Open data"). */
export function csvTermsLine(terms: OpenDataTerms): string {
  const parts = [`licence: ${terms.licence}`];
  const url = licenceUrl(terms.licence);
  if (url) parts.push(`licence URL: ${url}`);
  if (terms.attribution) parts.push(`attribution: ${terms.attribution}`);
  if (terms.citation) parts.push(`citation: ${terms.citation}`);
  return `# ${parts.join('; ').replace(/[\r\n]+/g, ' ')}\r\n`;
}

/** The terms as the JSON answers carry them (api/schemas/terms.ts). */
export function termsFields(terms: OpenDataTerms): { licence: string; licenceUrl?: string; attribution: string | null; citation: string | null } {
  const url = licenceUrl(terms.licence);
  return { licence: terms.licence, ...(url ? { licenceUrl: url } : {}), attribution: terms.attribution, citation: terms.citation };
}

/**
 * The terms a read answer carries: only reads, since a change's answer (a
 * PATCH of the licence) is about the pilot as it now is, not as it was found.
 */
const termsToSend = (request: FastifyRequest, reply: FastifyReply): OpenDataTerms | undefined =>
  (request.method === 'GET' || request.method === 'HEAD') && reply.statusCode < 400 ? notedTerms(request) : undefined;

type Hook<A extends unknown[]> = (request: FastifyRequest, reply: FastifyReply, ...rest: A) => Promise<unknown>;

/**
 * Registers the request decorator and the hooks that send an open pilot's
 * terms with every read about it: beside the data in a JSON answer
 * (preSerialization: before the response schema, which lists the fields), and
 * in the Link header of every answer, downloads and streams included.
 */
export function sendLicences(app: {
  decorateRequest(name: string, value: null): unknown;
  addHook(name: 'preSerialization', hook: Hook<[payload: unknown]>): unknown;
  addHook(name: 'onSend', hook: Hook<[payload: unknown]>): unknown;
}): void {
  app.decorateRequest(TERMS, null);
  app.addHook('preSerialization', async (request, reply, payload) => {
    const terms = termsToSend(request, reply);
    const isObject = payload !== null && typeof payload === 'object' && !Array.isArray(payload);
    return terms && isObject ? { ...payload, ...termsFields(terms) } : payload;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const terms = termsToSend(request, reply);
    if (terms) licenceHeaders(reply, terms);
    return payload;
  });
}
