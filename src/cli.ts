/**
 * The `gridhead` command line.
 *   gridhead start [--config FILE]   run the head-end (also GRIDHEAD_CONFIG)
 *   gridhead sim   [--config FILE]   run only the simulated fleet of that configuration
 *   gridhead dlms get|objects|image-transfer …  read a DLMS/COSEM meter, send it firmware (src/cli/dlms.ts)
 *   gridhead read|command …          talk to a running station's API (src/cli/remote.ts)
 *   gridhead db migrate              bring the PostgreSQL schema up to date (src/cli/db.ts)
 *   gridhead db import --from DIR    copy an embedded station into PostgreSQL (src/cli/db.ts)
 *   gridhead registry import FILE    bulk import of areas, terminals or meters from CSV (src/cli/registry.ts)
 *
 * Every command lives in its own module, imported only when it is the one asked for: a field
 * engineer's `gridhead dlms get` must start like a small tool, so it never loads the
 * configuration schema (typebox), the logger or the station itself.
 */
const USAGE = `usage:
  gridhead start [--config FILE]   run the head-end (default config/default.yaml, or $GRIDHEAD_CONFIG)
  gridhead sim   [--config FILE]   run the simulated fleet of a configuration on its own
  gridhead dlms get --host H --port P --framing wrapper|hdlc [options] OBIS:ATTR[@CLASS]...
                                   read attributes of a DLMS/COSEM meter, print JSON
  gridhead dlms objects --host H --port P --framing wrapper|hdlc [options]
                                   print a DLMS/COSEM meter's object list as JSON
  gridhead dlms image-transfer --host H --port P --framing wrapper|hdlc [options] --file F --identifier ID [--activate]
                                   send a firmware image to a DLMS/COSEM meter, verify and activate it
                                   (options: gridhead dlms --help)
  gridhead read --meter ID [--quantity Q ... | --obis X --attribute N | --profile load --from T --to T]
                                   read a meter now through a running station's API
  gridhead command disconnect|reconnect|set-limit|clear-limit|sync-clock (--meter ID ... | --area ID)
                                   [--limit-kw N] [--reason TEXT] [--yes]   remote control (docs/cli-remote.md)
  gridhead db migrate [--config FILE]
                                   apply PostgreSQL schema migrations to $GRIDHEAD_DATABASE_URL
  gridhead db import --from DIR [--config FILE] [--batch ROWS]
                                   copy a stopped embedded station (DIR/gridhead.db) into $GRIDHEAD_DATABASE_URL
                                   (exit codes: gridhead db)
  gridhead registry import FILE [--kind areas|terminals|meters] [--dry-run] [--batch ROWS] [--config FILE]
                                   import areas, terminals or meters from CSV into the station's store
                                   (columns: README, Bulk registry import; exit codes: gridhead registry)
  gridhead help
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      process.stderr.write(USAGE);
      return 2;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'read':
    case 'command': {
      // Talks to a running station's API and needs no configuration file.
      const { readCommand, controlCommand } = await import('./cli/remote.js');
      const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
      return command === 'read' ? readCommand(rest, io) : controlCommand(rest, io);
    }
    case 'dlms': {
      // Talks to one meter and needs no configuration file.
      const { dlmsCommand } = await import('./cli/dlms.js');
      return dlmsCommand(rest);
    }
    case 'db': {
      const { dbCommand } = await import('./cli/db.js');
      return dbCommand(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    }
    case 'registry': {
      const { registryCommand } = await import('./cli/registry.js');
      return registryCommand(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    }
    case 'start':
    case 'sim': {
      const { stationCommand } = await import('./cli/station.js');
      return stationCommand(command, rest, USAGE);
    }
    default:
      process.stderr.write(`gridhead: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}
