// Starts the gateway on a chosen port, so the reconnect test can restart "the server" where the page expects it.
import { startGatewayFor } from '../helpers.js';

export interface RunningGateway {
  httpUrl: string;
  port: number;
  close(): Promise<void>;
}

/** The gateway in front of `upstreamUrl` on 127.0.0.1:`port` (0: any free port); `env` overrides configuration. */
export async function startGatewayAt(
  upstreamUrl: string,
  port: number,
  env: Record<string, string> = {},
): Promise<RunningGateway> {
  const gateway = await startGatewayFor(upstreamUrl, { port, env });
  return { httpUrl: gateway.httpUrl, port: Number(new URL(gateway.httpUrl).port), close: () => gateway.close() };
}
