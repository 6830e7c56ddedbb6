/**
 * The one way an instant is written in answers, records and messages:
 * ISO 8601 in UTC with milliseconds (RFC 3339 section 5.6), e.g.
 * 2024-05-01T12:00:00.000Z.
 */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
