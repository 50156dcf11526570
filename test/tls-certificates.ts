// Certificates for the TLS tests: a throw-away CA and a server certificate for 127.0.0.1 and localhost signed by it,
// made with the openssl CLI (EC P-256, so it takes milliseconds) in a temporary directory. scripts/ensure-test-deps.sh
// installs Debian's openssl when it is missing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  /** The CA certificate (PEM) and the file holding it, for UPSTREAM_CA_FILE. */
  ca: string;
  caFile: string;
  /** The server's key and certificate (PEM), for startSimulator({ tls }). */
  key: string;
  cert: string;
  /** A file that is not PEM at all. */
  notPemFile: string;
  /** Removes the directory. */
  remove(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

let cached: TestCertificates | undefined;

/** The certificates of this test file, made on first use; call remove() after its tests (afterAll). */
export function testCertificates(): TestCertificates {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'asi1gw-tls-'));
  const ca = ['-subj', '/CN=asi1-voice-gateway test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE'];
  openssl(dir, ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', ...ca]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(dir, ['req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'server.ext',
    '-out',
    'server.pem',
  ]);
  writeFileSync(join(dir, 'not-pem.txt'), 'this is not a certificate\n');
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  cached = {
    ca: read('ca.pem'),
    caFile: join(dir, 'ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
    notPemFile: join(dir, 'not-pem.txt'),
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      cached = undefined;
    },
  };
  return cached;
}
