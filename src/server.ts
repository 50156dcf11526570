// The process: load config, start the gateway, and drain gracefully on SIGTERM/SIGINT within a deadline.
import { loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';

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
  const logger = createLogger(config.logLevel);
  const gateway = await startGateway(config, logger);
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info({ port, url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}` }, 'voice gateway listening');

  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutdown requested');
    // Exit within a deadline even if something refuses to close.
    setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + EXIT_MARGIN_MS).unref();
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
