/**
 * The `gridhead` command line.
 *   gridhead start [--config FILE]   run the head-end (also GRIDHEAD_CONFIG)
 *   gridhead sim   [--config FILE]   run only the simulated fleet of that configuration
 *   gridhead dlms get|objects …      read a DLMS/COSEM meter (src/cli/dlms.ts)
 */
import { parseArgs } from 'node:util';
import { BootstrapTokenError } from './auth/errors.js';
import { CredentialsFileError } from './broker/credentials.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import { PortInUseError } from './config/ports.js';
import { createLogger } from './observe/logger.js';

const USAGE = `usage:
  gridhead start [--config FILE]   run the head-end (default config/default.yaml, or $GRIDHEAD_CONFIG)
  gridhead sim   [--config FILE]   run the simulated fleet of a configuration on its own
  gridhead dlms get --host H --port P --framing wrapper|hdlc [options] OBIS:ATTR[@CLASS]...
                                   read attributes of a DLMS/COSEM meter, print JSON
  gridhead dlms objects --host H --port P --framing wrapper|hdlc [options]
                                   print a DLMS/COSEM meter's object list as JSON
                                   (options: gridhead dlms --help)
  gridhead read --meter ID [--quantity Q ... | --obis X --attribute N | --profile load --from T --to T]
                                   read a meter now through a running station's API
  gridhead command disconnect|reconnect|set-limit|clear-limit|sync-clock (--meter ID ... | --area ID)
                                   [--limit-kw N] [--reason TEXT] [--yes]   remote control (docs/cli-remote.md)
  gridhead help
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === 'read' || command === 'command') {
    // Talks to a running station's API and needs no configuration file.
    const { readCommand, controlCommand } = await import('./cli/remote.js');
    const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
    return command === 'read' ? readCommand(rest, io) : controlCommand(rest, io);
  }
  if (command === 'dlms') {
    // Talks to one meter and needs no configuration file.
    const { dlmsCommand } = await import('./cli/dlms.js');
    return dlmsCommand(rest);
  }
  let file: string;
  try {
    const { values } = parseArgs({ args: [...rest], options: { config: { type: 'string', short: 'c' } }, strict: true });
    const fromEnv = process.env.GRIDHEAD_CONFIG;
    file = values.config ?? (fromEnv === undefined || fromEnv === '' ? 'config/default.yaml' : fromEnv);
  } catch (err) {
    process.stderr.write(`gridhead: ${(err as Error).message}\n${USAGE}`);
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
  switch (command) {
    case 'start': {
      const { startHeadEnd } = await import('./main.js');
      let headEnd;
      try {
        headEnd = await startHeadEnd(config, { logger, configFile: file });
      } catch (err) {
        if (!isStartupProblem(err)) throw err;
        // Something the operator fixes in the configuration or the environment: say what, in one line.
        process.stderr.write(`gridhead: ${err.message}\n`);
        return 2;
      }
      await untilSignal(logger, () => headEnd.close());
      return 0;
    }
    case 'sim': {
      const { startFleet } = await import('../simulators/fleet.js');
      const { scenarioLogLine } = await import('../simulators/scenarios/runner.js');
      const fleet = await startFleet(config.simulators, {
        mqttUrl: config.simulators.mqtt.url ?? config.mqtt.url,
        topicPrefix: config.mqtt.topicPrefix,
        onScenario: (e) => {
          const line = scenarioLogLine(e);
          logger[line.level](line.fields, line.message);
        },
      });
      await fleet.startPublishing();
      logger.info({ terminals: fleet.seed.terminals.length, meters: fleet.seed.meters.length }, 'simulated fleet running');
      for (const t of fleet.seed.terminals) logger.info({ terminal: t.id, protocol: t.protocol, ...(t.modbus === undefined ? {} : { port: t.modbus.port }) }, 'simulated terminal');
      await untilSignal(logger, () => fleet.stop());
      return 0;
    }
    default:
      process.stderr.write(`gridhead: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

/** Start-up failures with a stable code whose message names what to change. */
function isStartupProblem(err: unknown): err is Error {
  return err instanceof ConfigError || err instanceof PortInUseError || err instanceof CredentialsFileError || err instanceof BootstrapTokenError;
}

/** Waits for SIGINT/SIGTERM, then runs `close`; a second signal exits at once. */
async function untilSignal(logger: ReturnType<typeof createLogger>, close: () => Promise<void>): Promise<void> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info({ signal }, 'shutting down');
  process.once(signal, () => process.exit(130));
  await close();
  logger.info('stopped');
}
