import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

/** A bare Aedes broker, no hooks: the baseline the pipeline is measured against. */
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  broker.close(() => server.close(() => process.exit(0)));
});
