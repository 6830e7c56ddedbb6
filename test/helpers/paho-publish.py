"""Publishes one message at QoS 1 with Eclipse Paho (Debian's python3-paho-mqtt) and
waits for its PUBACK: a stock client other than mqtt.js and mosquitto, for the
transport tests.

Usage: paho-publish.py <tcp|websockets> <host> <port> <cafile> <username> <password> <topic> <message>
Prints "PUBACK" and exits 0 once the gateway acknowledged; exits 1 otherwise.
"""

import sys
import threading

import paho.mqtt.client as mqtt


def main() -> int:
    transport, host, port, cafile, username, password, topic, message = sys.argv[1:9]
    client = mqtt.Client(client_id="", protocol=mqtt.MQTTv311, transport=transport)
    if transport == "websockets":
        # The gateway serves MQTT over WebSocket at /mqtt, subprotocol "mqtt".
        client.ws_set_options(path="/mqtt")
    client.tls_set(ca_certs=cafile)
    client.username_pw_set(username, password)
    connected = threading.Event()
    outcome = {}

    def on_connect(_client, _userdata, _flags, rc):
        outcome["connack"] = rc
        connected.set()

    client.on_connect = on_connect
    client.connect(host, int(port), keepalive=30)
    client.loop_start()
    try:
        if not connected.wait(10) or outcome.get("connack") != 0:
            print(f"CONNACK {outcome.get('connack')}", file=sys.stderr)
            return 1
        info = client.publish(topic, message, qos=1)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            print("no PUBACK", file=sys.stderr)
            return 1
        print("PUBACK")
        return 0
    finally:
        client.disconnect()
        client.loop_stop()


if __name__ == "__main__":
    sys.exit(main())
