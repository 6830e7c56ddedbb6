import net from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * A device that speaks MQTT 3.1.1 byte by byte (mqtt-packet over a plain
 * socket), so that a test decides whether and when each PUBACK is sent, and
 * with which packet identifier.
 */
export class RawMqttDevice {
  readonly #socket: net.Socket;
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 });
  /** Every packet received, in order. */
  readonly packets: mqttPacket.Packet[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (d) => this.#parser.parse(d));
    socket.on('error', () => {});
    this.#parser.on('packet', (p) => this.packets.push(p));
  }

  /** Connects and waits for CONNACK 0; `clientId` with `clean: false` resumes a stored session. */
  static async connect(url: string, username: string, password: string, options: { clientId?: string; clean?: boolean } = {}): Promise<RawMqttDevice> {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const device = new RawMqttDevice(socket);
    device.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: options.clean ?? true,
      clientId: options.clientId ?? `raw-${Math.random().toString(36).slice(2)}`,
      keepalive: 30,
      username,
      password: Buffer.from(password),
    });
    const connack = await device.next((p) => p.cmd === 'connack');
    if ((connack as mqttPacket.IConnackPacket).returnCode !== 0) throw new Error(`CONNACK ${(connack as mqttPacket.IConnackPacket).returnCode}`);
    return device;
  }

  send(packet: mqttPacket.Packet): void {
    this.#socket.write(mqttPacket.generate(packet));
  }

  /** Subscribes and resolves with the granted QoS of each filter (128: refused). */
  async subscribe(topic: string, qos: 0 | 1, messageId = 1): Promise<number[]> {
    this.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
    const suback = (await this.next((p) => p.cmd === 'suback' && p.messageId === messageId)) as mqttPacket.ISubackPacket;
    return suback.granted as number[];
  }

  /** The PUBLISH packets received on `topic`. */
  published(topic: string): mqttPacket.IPublishPacket[] {
    return this.packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish' && p.topic === topic);
  }

  puback(messageId: number): void {
    this.send({ cmd: 'puback', messageId });
  }

  /** The first packet received that matches, waiting up to `timeoutMs` for it. */
  async next(match: (p: mqttPacket.Packet) => boolean, timeoutMs = 5000): Promise<mqttPacket.Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.packets.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('no such packet in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Drops the connection without DISCONNECT, as a device losing power does. */
  async drop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    this.#socket.destroy();
    await closed;
  }
}
