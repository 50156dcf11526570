// A throw-away CA and a server certificate for 127.0.0.1 signed by it, for the simulator's TLS and the gateway's
// UPSTREAM_CA_FILE: the openssl CLI (EC P-256, milliseconds) in a temporary directory, as test/tls-certificates.ts
// makes them for the tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchCertificates {
  /** The CA's PEM file, for UPSTREAM_CA_FILE. */
  caFile: string;
  /** The server's key and certificate (PEM), for startSimulator({ tls }). */
  key: string;
  cert: string;
  remove(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCertificates(): BenchCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'bench-connections-tls-'));
  const openssl = (args: string[]): void =>
    void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const caSubject = ['-subj', '/CN=bench CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE'];
    openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', ...caSubject]);
    writeFileSync(
      join(dir, 'server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    openssl(['req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
    const sign = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext'];
    openssl(['x509', '-req', '-in', 'server.csr', ...sign, '-out', 'server.pem']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`bench:connections needs the openssl CLI for its TLS certificates: ${String(err)}`);
  }
  return {
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
