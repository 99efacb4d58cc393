/**
 * `gridhead start` and `gridhead sim`: the commands that read a configuration file and run
 * for as long as the process lives. Kept apart from src/cli.ts so the short-lived commands
 * (`dlms`, `read`, `command`) never load the configuration schema, the logger or the station.
 */
import { parseArgs } from 'node:util';
import { BootstrapTokenError } from '../auth/errors.js';
import { CredentialsFileError } from '../broker/credentials.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { PortInUseError } from '../config/ports.js';
import { createLogger } from '../observe/logger.js';
import { DatabaseError } from '../storage/postgres/errors.js';
import type { FleetStatusServer } from '../../simulators/statusServer.js';

/**
 * `gridhead start|sim` with the arguments after the command; returns the exit status: 2 for
 * what the configuration or the environment must change (a bad key, a busy port), 3 when the
 * database refused the login or cannot be reached, as `gridhead db` says it.
 */
export async function stationCommand(command: 'start' | 'sim', argv: readonly string[], usage: string): Promise<number> {
  let file: string;
  try {
    const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string', short: 'c' } }, strict: true });
    file = configFileOf(values.config, process.env);
  } catch (err) {
    process.stderr.write(`gridhead: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  let config;
  try {
    config = loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gridhead: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.log.level);
  // Listening before anything starts: the API answers /health before the start has returned, and a
  // SIGTERM sent then must still end in a clean shutdown, not the default action's kill.
  const stop = stopSignal();
  if (command === 'start') {
    const { startHeadEnd } = await import('../main.js');
    let headEnd;
    try {
      headEnd = await startHeadEnd(config, { logger, configFile: file });
    } catch (err) {
      // The database refused or could not be reached: one line (the URL only redacted), as `gridhead db` says it.
      if (err instanceof DatabaseError) {
        process.stderr.write(`gridhead: ${err.message}\n`);
        return 3;
      }
      if (!isStartupProblem(err)) throw err;
      // Something the operator fixes in the configuration or the environment: say what, in one line.
      process.stderr.write(`gridhead: ${err.message}\n`);
      return 2;
    }
    await untilSignal(stop, logger, () => headEnd.close());
    return 0;
  }
  const { startFleet } = await import('../../simulators/fleet.js');
  const { scenarioLogLine } = await import('../../simulators/scenarios/runner.js');
  const fleet = await startFleet(config.simulators, {
    mqttUrl: config.simulators.mqtt.url ?? config.mqtt.url,
    topicPrefix: config.mqtt.topicPrefix,
    onScenario: (e) => {
      const line = scenarioLogLine(e);
      logger[line.level](line.fields, line.message);
    },
  });
  await fleet.startPublishing();
  let status: FleetStatusServer | undefined;
  if (config.simulators.status.enabled) {
    const { startFleetStatusServer } = await import('../../simulators/statusServer.js');
    try {
      status = await startFleetStatusServer(() => ({ seed: fleet.seed, controls: fleet.controlCounts() }), config.simulators.status);
    } catch (err) {
      await fleet.stop();
      throw err;
    }
  }
  logger.info({ terminals: fleet.seed.terminals.length, meters: fleet.seed.meters.length, ...(status === undefined ? {} : { status: `${status.url}/status` }) }, 'simulated fleet running');
  for (const t of fleet.seed.terminals) logger.info({ terminal: t.id, protocol: t.protocol, ...(t.modbus === undefined ? {} : { port: t.modbus.port }) }, 'simulated terminal');
  await untilSignal(stop, logger, async () => {
    await status?.close();
    await fleet.stop();
  });
  return 0;
}

/** The configuration file: `--config`, else GRIDHEAD_CONFIG, else the demo's. */
export function configFileOf(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.GRIDHEAD_CONFIG;
  return flag ?? (fromEnv === undefined || fromEnv === '' ? 'config/default.yaml' : fromEnv);
}

/** Start-up failures with a stable code whose message names what to change. */
function isStartupProblem(err: unknown): err is Error {
  return err instanceof ConfigError || err instanceof PortInUseError || err instanceof CredentialsFileError || err instanceof BootstrapTokenError;
}

/** The first SIGINT or SIGTERM from now on; both stay handled, so neither kills the process by default. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** Waits for the stop signal (perhaps already received during the start), then runs `close`; a second signal exits at once. */
async function untilSignal(stop: Promise<NodeJS.Signals>, logger: ReturnType<typeof createLogger>, close: () => Promise<void>): Promise<void> {
  const signal = await stop;
  logger.info({ signal }, 'shutting down');
  process.once(signal, () => process.exit(130));
  await close();
  logger.info('stopped');
}
