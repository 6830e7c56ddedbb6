/** The help texts of the top level and of the server commands; the others keep theirs beside their code. */
export const USAGE = `Usage: testbed <command> [options]

Server:
  start       run the MQTT gateway, ingest and the HTTP API (configured by TESTBED_* variables)
  demo        the server with a demo testbed: companies, pilots and simulated devices publishing
  simulate    run virtual devices against a gateway

Administration, through a running server's API (TESTBED_API_URL, TESTBED_API_KEY or --url, --key):
  companies   create | list
  pilots      create | list | end
  devices     add | list | rotate | revoke
  keys        create | list | revoke

  help [command]   this help, or a command's
  --version        the version

Run testbed <command> --help for a command's options.
`;

export const START_USAGE = `Usage: testbed start

Runs the MQTT gateway, ingest and the HTTP API until Ctrl-C (SIGINT) or SIGTERM,
configured by the TESTBED_* environment variables (README: Configuration). It
takes no options. Logs go to stdout: human-readable on a terminal, JSON lines
otherwise; TESTBED_LOG_FORMAT=pretty or json forces one. On the first start
without TESTBED_ADMIN_TOKEN it generates an admin key, keeps it in the data
folder (admin-token) and prints it once, on stderr.

One server at a time may use a data folder: a second one refuses to start
(TESTBED_DATA_DIR_LOCKED).

Exit status: 0 after a clean stop; 1 when it cannot start, with one line naming
the error code (TESTBED_CONFIG_INVALID, TESTBED_PORT_IN_USE, ...).
`;

export const DEMO_USAGE = `Usage: testbed demo

Starts the server (as testbed start, on the embedded store unless
TESTBED_INFLUX_URL is set) with the Helsinki scenario: its companies, pilots and
simulated devices, registered on the first run and kept in the data folder
(demo.json) for the next. It prints the addresses, which company owns which
device, each company's key and ready curl and mosquitto_pub lines, then a
status line every 10 seconds. The server's log goes to demo.log in the data
folder, so that it does not mix with what the demo prints. Takes no options;
stop with Ctrl-C.
`;
