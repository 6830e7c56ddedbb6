import type { Client } from 'aedes';
import { BufferList } from 'bl';

/**
 * What an idle connection keeps in memory is mostly the broker's and its packet
 * parser's, so with tens of thousands of devices connected their per-connection
 * state is worth trimming. Both functions reach into the internals of the
 * versions in package-lock.json (aedes's `client._parser`, an mqtt-packet
 * Parser); test/gateway-memory.test.ts fails when those change.
 */
interface ParserInternals {
  /** The CONNECT packet once parsed; the parser reads only its protocol version (and bridge mode) after that. */
  settings: { protocolVersion?: number; bridgeMode?: boolean };
  /** The bytes received and not yet parsed. */
  _list: { readonly length: number; slice(): Buffer };
}

const parserOf = (client: Client) => (client as unknown as { _parser?: ParserInternals })._parser;

/**
 * Swaps the parser's byte list, a `bl` BufferListStream (a full Duplex stream,
 * about 1.1 KB with its states and listeners), for the plain BufferList with
 * the same methods: the parser only appends, reads and consumes. Called before
 * any byte is read.
 */
export function leanParserBuffer(client: Client): void {
  const parser = parserOf(client);
  if (!parser || parser._list.length > 0) return;
  parser._list = new BufferList();
}

/**
 * Lets the CONNECT packet go once the connection is accepted: the parser keeps
 * it as its settings, password and all (about 0.5 KB), for the protocol version.
 */
export function releaseConnectPacket(client: Client): void {
  const parser = parserOf(client);
  if (!parser) return;
  const { protocolVersion, bridgeMode } = parser.settings;
  parser.settings = bridgeMode ? { protocolVersion, bridgeMode } : { protocolVersion };
}
