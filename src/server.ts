// The process: load config, start the gateway, and drain gracefully on SIGTERM/SIGINT within a deadline. A crash
// (an exception or rejection nothing caught) drains the same way, then exits 1 for the supervisor to restart it.
import { loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { configuredSecrets } from './secrets.js';

/** Time allowed after the drain grace for sockets and pools to close before the process is forced out. */
const EXIT_MARGIN_MS = 5_000;

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { secrets: configuredSecrets(config) });
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, logger);
  } catch (err) {
    // Through the logger, which redacts configured secrets (a Redis error may quote its URL), never raw stderr.
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info(
    { port, url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}` },
    'voice gateway listening',
  );

  let shuttingDown = false;
  /** Drains (active responses get SHUTDOWN_GRACE_MS), then exits with `code`, within a deadline whatever hangs. */
  const shutDown = (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + EXIT_MARGIN_MS).unref();
    gateway.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutdown requested');
    shutDown(0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // A throw or rejection nothing caught. Frame handling never lets one escape (one client cannot take the
  // others down), so this is a bug elsewhere, after which the process cannot be trusted (Node's own advice):
  // log it with its stack, let running replies finish as on SIGTERM, and exit 1 so the supervisor restarts it.
  const onCrash = (kind: 'uncaughtException' | 'unhandledRejection') => (err: unknown) => {
    logger.fatal({ err, kind }, 'crash: draining, then exiting with code 1');
    shutDown(1);
  };
  process.on('uncaughtException', onCrash('uncaughtException'));
  process.on('unhandledRejection', onCrash('unhandledRejection'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
