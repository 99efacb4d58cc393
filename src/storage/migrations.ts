/**
 * Versioned schema of the embedded store. Append only: never edit a migration that has
 * shipped; add the next version instead. `PRAGMA user_version` records the applied version.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, readings, collection statistics',
    sql: `
      CREATE TABLE areas (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('region','substation','feeder','transformer')),
        parent_id       TEXT REFERENCES areas(id) ON DELETE RESTRICT,
        transformer_kva REAL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      );
      CREATE INDEX areas_parent ON areas(parent_id);

      CREATE TABLE terminals (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        protocol   TEXT NOT NULL,
        enabled    INTEGER NOT NULL,
        profiles   TEXT NOT NULL,   -- JSON array of collection profile names
        endpoint   TEXT NOT NULL,   -- JSON, protocol specific
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      -- key: compact integer used by the readings table instead of the text id.
      CREATE TABLE meters (
        key          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        name         TEXT NOT NULL,
        terminal_id  TEXT NOT NULL REFERENCES terminals(id) ON DELETE RESTRICT,
        address      TEXT NOT NULL,
        ct_ratio     REAL NOT NULL,
        pt_ratio     REAL NOT NULL,
        area_id      TEXT REFERENCES areas(id) ON DELETE RESTRICT,
        protected    INTEGER NOT NULL,
        customer_ref TEXT,
        account_ref  TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (terminal_id, address)
      );
      CREATE INDEX meters_area ON meters(area_id);

      -- One row per meter, quantity and device timestamp: a re-read overwrites, never duplicates.
      CREATE TABLE readings (
        meter_key INTEGER NOT NULL,
        quantity  INTEGER NOT NULL,  -- index into the quantity catalogue (quantity_codes)
        ts        INTEGER NOT NULL,  -- device time, ms since epoch
        value     REAL NOT NULL,
        quality   INTEGER NOT NULL,  -- 0 good, 1 suspect, 2 bad
        source    INTEGER NOT NULL,  -- 0 poll, 1 push
        PRIMARY KEY (meter_key, quantity, ts)
      ) WITHOUT ROWID;

      CREATE TABLE quantity_codes (
        code INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
      );

      -- Collection success rate: readings collected against readings expected, per terminal and day.
      CREATE TABLE collection_stats (
        day        TEXT NOT NULL,   -- YYYY-MM-DD, station local time
        terminal_id TEXT NOT NULL,
        expected   INTEGER NOT NULL,
        collected  INTEGER NOT NULL,
        PRIMARY KEY (day, terminal_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'stored-profile cursors',
    sql: `
      -- The newest entry collected of each meter's stored profile (load, daily, billing):
      -- the next read starts after it, so there are no gaps and no duplicates.
      CREATE TABLE profile_cursors (
        meter_id   TEXT NOT NULL,
        profile    TEXT NOT NULL,
        last_ts    INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (meter_id, profile)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: 'control actions and load-control program state',
    sql: `
      -- Every control request and its result (src/control/actions.ts): append, then one update to finish.
      CREATE TABLE control_actions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        meter_id      TEXT NOT NULL,
        command       TEXT NOT NULL CHECK (command IN ('disconnect','reconnect','set-limit','clear-limit')),
        limit_kw      REAL,
        origin_kind   TEXT NOT NULL CHECK (origin_kind IN ('program','operator')),
        origin_id     TEXT NOT NULL,   -- program id or operator
        origin_round  INTEGER,         -- shedding round, for a program
        reason        TEXT NOT NULL,
        requested_at  INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending','verified','failed','refused')),
        finished_at   INTEGER,
        state         TEXT,            -- JSON: what the device read back
        error_code    TEXT,
        error_message TEXT
      );
      CREATE INDEX control_actions_meter ON control_actions(meter_id, requested_at);
      CREATE INDEX control_actions_origin ON control_actions(origin_kind, origin_id, requested_at);

      -- Where each load-control program stands (src/rules/loadControl/stateStore.ts), so a restart neither re-trips nor forgets.
      CREATE TABLE load_control_state (
        program_id TEXT PRIMARY KEY,
        state      TEXT NOT NULL,      -- JSON
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
