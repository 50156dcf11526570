// `npm run simulator -- --port 9000 [--host 127.0.0.1] [--profile gen1|gen2] [--ttft 300] [--itl 30]
// [--tokens-per-chunk 1] [--stamp] [--stamp-text] [--models off|on|asi1:2:1.5:2,...] [--tls-key FILE --tls-cert FILE
// [--http2]] [--connection-cost MS]`: runs the ASI:One simulator as its own process (demo, benchmarks). --models
// turns on per-model pace and reply length (model-profiles.ts: `on` for the family defaults, or
// model:ttftScale:interTokenScale:lengthScale entries over them; default off). --tls-key/--tls-cert serve HTTPS
// (PEM files), --http2 adds HTTP/2 to it, --connection-cost holds each new connection that long before its handshake.
// Prints the base URL on stdout and closes cleanly on SIGTERM/SIGINT.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SimScenario } from './scenario.js';
import { parseModelProfiles, startSimulator } from './server.js';

function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9000' },
      host: { type: 'string', default: '127.0.0.1' },
      profile: { type: 'string', default: 'gen2' },
      ttft: { type: 'string' },
      itl: { type: 'string' },
      'tokens-per-chunk': { type: 'string' },
      stamp: { type: 'boolean', default: false },
      'stamp-text': { type: 'boolean', default: false },
      'api-key': { type: 'string' },
      log: { type: 'boolean', default: false },
      models: { type: 'string', default: 'off' },
      'tls-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      http2: { type: 'boolean', default: false },
      'connection-cost': { type: 'string' },
    },
    strict: true,
  });
  const keyFile = values['tls-key'];
  const certFile = values['tls-cert'];
  if ((keyFile === undefined) !== (certFile === undefined)) throw new Error('--tls-key and --tls-cert go together');
  if (values.http2 && keyFile === undefined) throw new Error('--http2 needs --tls-key and --tls-cert');
  const profile = values.profile;
  if (profile !== 'gen1' && profile !== 'gen2') throw new Error(`--profile must be gen1 or gen2, got "${profile}"`);
  const defaults: Partial<SimScenario> = {
    profile,
    ttftMs: intOption('ttft', values.ttft, 300),
    interTokenMs: intOption('itl', values.itl, 30),
    tokensPerChunk: Math.max(1, intOption('tokens-per-chunk', values['tokens-per-chunk'], 1)),
    stampEmitTime: values.stamp,
    stampEmitTimeInText: values['stamp-text'],
  };
  const simulator = await startSimulator({
    port: intOption('port', values.port, 9000),
    host: values.host,
    defaults,
    ...(values['api-key'] === undefined ? {} : { apiKey: values['api-key'] }),
    logRequests: values.log,
    modelProfiles: parseModelProfiles(values.models),
    ...(keyFile === undefined || certFile === undefined
      ? {}
      : { tls: { key: readFileSync(keyFile), cert: readFileSync(certFile) }, http2: values.http2 }),
    connectionCostMs: intOption('connection-cost', values['connection-cost'], 0),
  });
  const protocols = values.http2 ? ', HTTP/2' : '';
  process.stdout.write(`ASI:One simulator (${profile}${protocols}) listening on ${simulator.url}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void simulator.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
