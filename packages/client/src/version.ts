// The protocol's versioning rule (docs/protocol.md): minors only add fields and events, which a client ignores,
// so any minor of a known major is accepted; a major this client does not know is refused with a clear error.
import { VoiceGatewayError } from './errors.js';
import { PROTOCOL_MINOR, PROTOCOL_VERSION, type SessionReady } from './wire.js';

/** The version a session.ready announces, read as plain numbers (a newer server may send any). */
export function announcedVersion(ready: SessionReady): { major: number; minor: number } {
  const { protocol, minor } = ready as { protocol?: unknown; minor?: unknown };
  return { major: typeof protocol === 'number' ? protocol : Number.NaN, minor: typeof minor === 'number' ? minor : 0 };
}

/** null when this client can speak to the server that sent `ready`; otherwise the error to fail with. */
export function checkVersion(ready: SessionReady): VoiceGatewayError | null {
  const { major, minor } = announcedVersion(ready);
  if (major === PROTOCOL_VERSION) return null;
  return new VoiceGatewayError(
    'CLIENT_PROTOCOL_UNSUPPORTED',
    `The gateway speaks protocol ${major}.${minor}; this client speaks protocol ${PROTOCOL_VERSION} (up to minor ${PROTOCOL_MINOR}, and newer minors of it). Use a client release for protocol ${major}.`,
  );
}
