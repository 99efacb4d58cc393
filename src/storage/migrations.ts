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
    version: 3,
    name: 'DLMS keys at rest, invocation counters, security events, audit log',
    sql: `
      -- One row per key set (a meter's own, or a key group's). generation grows with every
      -- change of EK, AK or BK: invocation counters are bound to it (IV uniqueness is per key).
      CREATE TABLE key_sets (
        scope      TEXT PRIMARY KEY,   -- 'meter:<id>' or 'group:<name>'
        generation INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- Each secret sealed with AES-256-GCM under the master key; the AAD binds scope, name
      -- and generation, so a row moved to another meter or slot does not decrypt.
      CREATE TABLE key_records (
        scope      TEXT NOT NULL REFERENCES key_sets(scope) ON DELETE CASCADE,
        name       TEXT NOT NULL CHECK (name IN ('ek','ak','bk','password')),
        nonce      BLOB NOT NULL,
        sealed     BLOB NOT NULL,      -- ciphertext followed by the 16-octet tag
        PRIMARY KEY (scope, name)
      ) WITHOUT ROWID;

      -- A known value sealed under the master key: a wrong key is detected at start.
      CREATE TABLE key_store_check (
        id     INTEGER PRIMARY KEY CHECK (id = 1),
        nonce  BLOB NOT NULL,
        sealed BLOB NOT NULL
      );

      -- Outgoing invocation counter per key (scope, generation): numbers up to 'reserved'
      -- may have been used, so a restart continues after it.
      CREATE TABLE dlms_outgoing_counters (
        scope      TEXT NOT NULL,
        generation INTEGER NOT NULL,
        reserved   INTEGER NOT NULL,
        PRIMARY KEY (scope, generation)
      ) WITHOUT ROWID;

      -- Last invocation counter accepted from each meter under a key (scope, generation).
      CREATE TABLE dlms_incoming_counters (
        meter_id      TEXT NOT NULL,
        scope         TEXT NOT NULL,
        generation    INTEGER NOT NULL,
        last_accepted INTEGER NOT NULL,
        PRIMARY KEY (meter_id, scope, generation)
      ) WITHOUT ROWID;

      CREATE TABLE security_events (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        ts           INTEGER NOT NULL,
        meter_id     TEXT,
        terminal_id  TEXT,
        kind         TEXT NOT NULL,
        detail       TEXT NOT NULL,
        system_title TEXT,
        counter      INTEGER
      );
      CREATE INDEX security_events_ts ON security_events(ts);
      CREATE INDEX security_events_meter ON security_events(meter_id, ts);

      -- Append-only: the triggers refuse any change to a written entry.
      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        ts      INTEGER NOT NULL,
        actor   TEXT NOT NULL,
        source  TEXT,
        action  TEXT NOT NULL,
        target  TEXT,
        outcome TEXT NOT NULL,
        detail  TEXT                 -- JSON
      );
      CREATE INDEX audit_log_ts ON audit_log(ts);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
  {
    version: 4,
    name: 'rules',
    sql: `
      -- Rules the engine runs: seeded from the YAML rule set, then managed through the API.
      CREATE TABLE rules (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        description TEXT,
        enabled     INTEGER NOT NULL,
        severity    TEXT NOT NULL,
        subject     TEXT NOT NULL,   -- JSON: { meter } | { meters } | { area, includeDescendants } | { all: true }
        detector    TEXT NOT NULL,
        params      TEXT NOT NULL,   -- JSON, validated against the detector's schema
        origin      TEXT NOT NULL CHECK (origin IN ('yaml','api')),
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'alarms, alarm comments, device events',
    sql: `
      -- One row per alarm; an open alarm (state raised or acknowledged) is unique per rule and subject.
      CREATE TABLE alarms (
        id                INTEGER PRIMARY KEY,
        rule_id           TEXT NOT NULL,
        detector          TEXT NOT NULL,
        subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('meter','area','terminal')),
        subject_id        TEXT NOT NULL,
        area_id           TEXT,
        severity          TEXT NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('raised','acknowledged','cleared')),
        raised_at         INTEGER NOT NULL,
        since             INTEGER NOT NULL,
        acknowledged_at   INTEGER,
        acknowledged_by   TEXT,
        cleared_at        INTEGER,
        explanation       TEXT NOT NULL,
        clear_explanation TEXT,
        value             REAL NOT NULL,
        updated_at        INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX alarms_open ON alarms(rule_id, subject_kind, subject_id) WHERE state <> 'cleared';
      CREATE INDEX alarms_state ON alarms(state, id);
      CREATE INDEX alarms_area ON alarms(area_id, id);
      CREATE INDEX alarms_subject ON alarms(subject_kind, subject_id, id);
      CREATE INDEX alarms_raised ON alarms(raised_at);

      CREATE TABLE alarm_comments (
        alarm_id INTEGER NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        at       INTEGER NOT NULL,
        by       TEXT NOT NULL,
        text     TEXT NOT NULL,
        PRIMARY KEY (alarm_id, seq)
      ) WITHOUT ROWID;

      -- What meters and terminals reported; meter_id is null when the registry did not know the sender.
      CREATE TABLE device_events (
        id          INTEGER PRIMARY KEY,
        ts          INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        meter_id    TEXT,
        terminal_id TEXT NOT NULL,
        code        TEXT NOT NULL,
        source      TEXT NOT NULL,
        detail      TEXT
      );
      CREATE INDEX device_events_meter ON device_events(meter_id, ts);
      CREATE INDEX device_events_terminal ON device_events(terminal_id, ts);
      CREATE INDEX device_events_ts ON device_events(ts);
      CREATE INDEX device_events_received ON device_events(received_at);
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
  {
    version: 7,
    name: 'users, API tokens, sessions',
    sql: `
      -- Dashboard users (src/auth): password_hash is scrypt with its salt and cost (src/auth/passwords.ts).
      CREATE TABLE users (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL CHECK (role IN ('viewer','operator','admin','billing')),
        password_hash TEXT NOT NULL,
        disabled      INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        last_login_at INTEGER
      ) WITHOUT ROWID;

      -- API tokens: only the SHA-256 of the token is kept; prefix (its first characters) finds the row.
      CREATE TABLE api_tokens (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('viewer','operator','admin','billing')),
        prefix       TEXT NOT NULL,
        hash         BLOB NOT NULL,
        created_at   INTEGER NOT NULL,
        created_by   TEXT NOT NULL,
        last_used_at INTEGER,
        expires_at   INTEGER,
        revoked_at   INTEGER
      );
      CREATE INDEX api_tokens_prefix ON api_tokens(prefix);
      CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at IS NULL;

      -- Dashboard sessions: the cookie carries a random id, the store its SHA-256.
      CREATE TABLE sessions (
        id_hash      BLOB PRIMARY KEY,
        user_name    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sessions_user ON sessions(user_name, created_at);
    `,
  },
  {
    version: 8,
    name: 'command service: commands, per-meter targets, idempotency keys',
    sql: `
      -- One row per command (src/control/commandStore.ts); per-meter outcomes are in command_targets.
      CREATE TABLE commands (
        id               TEXT PRIMARY KEY,
        type             TEXT NOT NULL CHECK (type IN ('disconnect','reconnect','set-limit','clear-limit','sync-clock')),
        params           TEXT NOT NULL,   -- JSON: limitKw, time
        scope            TEXT NOT NULL,   -- JSON: { meterIds } or { areaId }
        reason           TEXT,
        override_reason  TEXT,
        origin_kind      TEXT NOT NULL CHECK (origin_kind IN ('operator','program')),
        origin_id        TEXT NOT NULL,   -- actor, or program id
        origin_round     INTEGER,
        source           TEXT,            -- network address of the request
        idempotency_key  TEXT,            -- set to NULL once expired
        body_hash        TEXT,
        created_at       INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX commands_idempotency ON commands(origin_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX commands_created ON commands(created_at);

      CREATE TABLE command_targets (
        command_id    TEXT NOT NULL REFERENCES commands(id),
        meter_id      TEXT NOT NULL,
        seq           INTEGER NOT NULL,   -- order within the command
        terminal_id   TEXT NOT NULL,
        address       TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending','sent','acknowledged','verified','failed','timed-out','cancelled','refused')),
        transitions   TEXT NOT NULL,      -- JSON array of { status, at }
        state         TEXT,               -- JSON: what the device read back
        error_code    TEXT,
        error_message TEXT,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (command_id, meter_id)
      ) WITHOUT ROWID;
      CREATE INDEX command_targets_open ON command_targets(status) WHERE status IN ('pending','sent','acknowledged');
      CREATE INDEX command_targets_meter ON command_targets(meter_id);
    `,
  },
  {
    version: 9,
    name: 'billing: meter replacements',
    sql: `
      -- A meter exchange (src/billing): billing deltas across it are computed per meter.
      CREATE TABLE meter_replacements (
        meter_id    TEXT NOT NULL,
        at          INTEGER NOT NULL,   -- ms since epoch
        old_final   REAL NOT NULL,      -- last register value of the removed meter
        new_initial REAL NOT NULL,      -- first register value of the installed meter
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (meter_id, at)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 10,
    name: 'registry: meter ratings',
    sql: `
      -- A meter's Un (V) and Imax (A) at its terminals; null: the ingest.plausibility defaults.
      ALTER TABLE meters ADD COLUMN nominal_voltage REAL;
      ALTER TABLE meters ADD COLUMN max_current REAL;
    `,
  },
  {
    version: 11,
    name: 'DLMS push: learnt push object lists, dead letters',
    sql: `
      -- Push object lists read from a meter (src/storage/dlmsPushLists.ts), per terminal/address.
      CREATE TABLE dlms_push_lists (
        meter_key  TEXT PRIMARY KEY,   -- terminal id / meter address
        lists      TEXT NOT NULL,      -- JSON: [{ pushSetup, objects: [{ classId, obis, attribute, dataIndex }] }]
        learnt_at  INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX dlms_push_lists_learnt ON dlms_push_lists(learnt_at);

      -- Pushes that yielded nothing, with their bytes (src/storage/dlmsPushDeadLetters.ts); capped, oldest dropped.
      CREATE TABLE dlms_push_dead_letters (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at  INTEGER NOT NULL,
        origin       TEXT NOT NULL,    -- tcp | mqtt
        peer         TEXT NOT NULL,    -- TCP peer address:port, or the MQTT topic's terminal id
        sender       TEXT NOT NULL,    -- peer address, topic terminal, system title: what is known
        terminal_id  TEXT,
        code         TEXT NOT NULL,
        reason       TEXT NOT NULL,
        apdu         BLOB NOT NULL
      );
    `,
  },
  {
    version: 12,
    name: 'alarms: explanations as data',
    sql: `
      -- JSON (src/rules/explanation.ts): template parts and typed arguments, rendered in the
      -- reader's language. NULL on older rows, whose English text stays their explanation.
      ALTER TABLE alarms ADD COLUMN explanation_data TEXT;
      ALTER TABLE alarms ADD COLUMN clear_explanation_data TEXT;
    `,
  },
  {
    version: 13,
    name: 'alarms about the station itself; the MQTT broker dropped-message counter last seen',
    sql: `
      -- SQLite cannot alter a CHECK: the alarms table is rebuilt with the 'station' subject
      -- kind. Dropping it would cascade to alarm_comments (foreign keys are on during
      -- migrations), so the comments are set aside and put back.
      CREATE TEMP TABLE alarm_comments_kept AS SELECT alarm_id, seq, at, by, text FROM alarm_comments;
      CREATE TABLE alarms_rebuilt (
        id                INTEGER PRIMARY KEY,
        rule_id           TEXT NOT NULL,
        detector          TEXT NOT NULL,
        subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('meter','area','terminal','station')),
        subject_id        TEXT NOT NULL,
        area_id           TEXT,
        severity          TEXT NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('raised','acknowledged','cleared')),
        raised_at         INTEGER NOT NULL,
        since             INTEGER NOT NULL,
        acknowledged_at   INTEGER,
        acknowledged_by   TEXT,
        cleared_at        INTEGER,
        explanation       TEXT NOT NULL,
        clear_explanation TEXT,
        value             REAL NOT NULL,
        updated_at        INTEGER NOT NULL,
        explanation_data       TEXT,
        clear_explanation_data TEXT
      );
      INSERT INTO alarms_rebuilt (id, rule_id, detector, subject_kind, subject_id, area_id, severity, state, raised_at, since,
          acknowledged_at, acknowledged_by, cleared_at, explanation, clear_explanation, value, updated_at, explanation_data, clear_explanation_data)
        SELECT id, rule_id, detector, subject_kind, subject_id, area_id, severity, state, raised_at, since,
          acknowledged_at, acknowledged_by, cleared_at, explanation, clear_explanation, value, updated_at, explanation_data, clear_explanation_data FROM alarms;
      DROP TABLE alarms;
      ALTER TABLE alarms_rebuilt RENAME TO alarms;
      CREATE UNIQUE INDEX alarms_open ON alarms(rule_id, subject_kind, subject_id) WHERE state <> 'cleared';
      CREATE INDEX alarms_state ON alarms(state, id);
      CREATE INDEX alarms_area ON alarms(area_id, id);
      CREATE INDEX alarms_subject ON alarms(subject_kind, subject_id, id);
      CREATE INDEX alarms_raised ON alarms(raised_at);
      INSERT INTO alarm_comments (alarm_id, seq, at, by, text) SELECT alarm_id, seq, at, by, text FROM alarm_comments_kept;
      DROP TABLE alarm_comments_kept;

      -- The broker's cumulative dropped-message counter as last seen (src/broker/dropMonitor.ts),
      -- so drops while the station was down are noticed at its next start. One row.
      CREATE TABLE broker_drop_counter (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        value        INTEGER NOT NULL,   -- $SYS/broker/publish/messages/dropped
        confirmed_at INTEGER NOT NULL    -- ms since epoch: the counter held this value at least until then
      );
    `,
  },
  {
    version: 14,
    name: 'registry: a meter key is never given twice',
    sql: `
      -- Without AUTOINCREMENT, SQLite gives a new row the largest key + 1: a meter created
      -- after the one with the largest key was deleted took its key, and with it the readings
      -- the deleted meter left in the store. AUTOINCREMENT never hands a key out twice. The
      -- table is rebuilt (SQLite cannot alter a key); no table references meters.key.
      CREATE TABLE meters_keyed (
        key             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        name            TEXT NOT NULL,
        terminal_id     TEXT NOT NULL REFERENCES terminals(id) ON DELETE RESTRICT,
        address         TEXT NOT NULL,
        ct_ratio        REAL NOT NULL,
        pt_ratio        REAL NOT NULL,
        area_id         TEXT REFERENCES areas(id) ON DELETE RESTRICT,
        protected       INTEGER NOT NULL,
        customer_ref    TEXT,
        account_ref     TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        nominal_voltage REAL,
        max_current     REAL,
        UNIQUE (terminal_id, address)
      );
      INSERT INTO meters_keyed (key, id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, customer_ref, account_ref,
          created_at, updated_at, nominal_voltage, max_current)
        SELECT key, id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, customer_ref, account_ref,
          created_at, updated_at, nominal_voltage, max_current FROM meters;
      DROP TABLE meters;
      ALTER TABLE meters_keyed RENAME TO meters;
      CREATE INDEX meters_area ON meters(area_id);
    `,
  },
  {
    version: 15,
    name: 'daily read success per meter, counted per area and day',
    sql: `
      -- Meters expected and meters read completely, per station-local day and area (the area the
      -- meter was in when counted; '' for meters without one): src/collect/meterDays.ts. A day
      -- of a million meters is one row per area, not per meter. Flushes add, never overwrite.
      CREATE TABLE collection_area_stats (
        day       TEXT NOT NULL,   -- YYYY-MM-DD, station local time
        area_id   TEXT NOT NULL,
        expected  INTEGER NOT NULL,
        collected INTEGER NOT NULL,
        PRIMARY KEY (day, area_id)
      ) WITHOUT ROWID;
      -- An area's days: a month of one transformer area, or of a feeder's transformers.
      CREATE INDEX collection_area_stats_area ON collection_area_stats (area_id, day);

      -- That a meter was counted on a day, where, and whether it was read: a meter counts once a
      -- day however often it is polled, also after a restart. Only the last two days are kept.
      CREATE TABLE collection_meter_days (
        day      TEXT NOT NULL,
        meter_id TEXT NOT NULL,
        area_id  TEXT NOT NULL,
        read     INTEGER NOT NULL,   -- 1 once read completely that day
        PRIMARY KEY (day, meter_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 16,
    name: 'list routes: an index per filter that also gives the page order',
    sql: `
      -- Every list route pages by keyset (WHERE (k1, k2) < cursor ORDER BY k1 DESC, k2 DESC
      -- LIMIT n): with an index leading with the filter and ending with the order, a page
      -- is one index range whatever the table holds; without one it is a scan or a sort.
      -- A rowid table's index ends with the rowid, so (severity) orders alarms by id as well.
      CREATE INDEX alarms_severity ON alarms(severity);
      CREATE INDEX alarms_rule ON alarms(rule_id);
      CREATE INDEX device_events_code ON device_events(code, ts);
      CREATE INDEX audit_log_actor ON audit_log(actor);
      CREATE INDEX audit_log_action ON audit_log(action);
      CREATE INDEX audit_log_target ON audit_log(target);
      CREATE INDEX security_events_meter_id ON security_events(meter_id);
      CREATE INDEX security_events_kind ON security_events(kind);
      -- commands.id is text, not the rowid: the order's tie-breaker is spelled out.
      DROP INDEX commands_created;
      CREATE INDEX commands_created ON commands(created_at, id);
      CREATE INDEX commands_type ON commands(type, created_at, id);
      CREATE INDEX commands_origin ON commands(origin_kind, origin_id, created_at, id);
      DROP INDEX meters_area;
      CREATE INDEX meters_area ON meters(area_id, id);
    `,
  },
  {
    version: 17,
    name: 'purchases of the purchase-energy programs',
    sql: `
      -- Every kWh top-up of a purchase-energy program (src/rules/loadControl/stateStore.ts),
      -- appended once: a purchase id, or an Idempotency-Key, seen again adds nothing.
      CREATE TABLE load_control_purchases (
        program_id      TEXT NOT NULL,
        purchase_id     TEXT NOT NULL,
        wh              INTEGER NOT NULL CHECK (wh > 0),   -- kWh × 1000, exact
        idempotency_key TEXT NOT NULL,
        actor           TEXT NOT NULL,
        at              INTEGER NOT NULL,                  -- ms since epoch
        PRIMARY KEY (program_id, purchase_id)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX load_control_purchases_key ON load_control_purchases(program_id, idempotency_key);
      CREATE INDEX load_control_purchases_at ON load_control_purchases(program_id, at);
    `,
  },
  {
    version: 18,
    name: 'commands on a meter\'s own account: read-account, add-credit',
    sql: `
      -- SQLite cannot alter a CHECK: commands is rebuilt with the two types. Its targets refer to
      -- it (foreign keys are on during migrations), so they are set aside and put back.
      CREATE TEMP TABLE command_targets_kept AS SELECT * FROM command_targets;
      DELETE FROM command_targets;
      CREATE TABLE commands_rebuilt (
        id               TEXT PRIMARY KEY,
        type             TEXT NOT NULL CHECK (type IN ('disconnect','reconnect','set-limit','clear-limit','sync-clock','read-account','add-credit')),
        params           TEXT NOT NULL,   -- JSON: limitKw, time, amountMinor, currency, token
        scope            TEXT NOT NULL,
        reason           TEXT,
        override_reason  TEXT,
        origin_kind      TEXT NOT NULL CHECK (origin_kind IN ('operator','program')),
        origin_id        TEXT NOT NULL,
        origin_round     INTEGER,
        source           TEXT,
        idempotency_key  TEXT,
        body_hash        TEXT,
        created_at       INTEGER NOT NULL
      );
      INSERT INTO commands_rebuilt SELECT id, type, params, scope, reason, override_reason, origin_kind, origin_id, origin_round, source, idempotency_key, body_hash, created_at FROM commands;
      DROP TABLE commands;
      ALTER TABLE commands_rebuilt RENAME TO commands;
      CREATE UNIQUE INDEX commands_idempotency ON commands(origin_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX commands_created ON commands(created_at, id);
      CREATE INDEX commands_type ON commands(type, created_at, id);
      CREATE INDEX commands_origin ON commands(origin_kind, origin_id, created_at, id);
      INSERT INTO command_targets SELECT * FROM command_targets_kept;
      DROP TABLE command_targets_kept;
    `,
  },
  {
    version: 19,
    name: 'fee accounts, ledger, balances, fee-control state and decisions',
    sql: `
      -- src/fees/sqliteStore.ts. Money: integer minor units of the account's ISO 4217 currency.
      CREATE TABLE fee_accounts (
        id                 TEXT PRIMARY KEY,
        customer_ref       TEXT NOT NULL,
        name               TEXT NOT NULL,
        mode               TEXT NOT NULL CHECK (mode IN ('prepaid','postpaid')),
        cycle              TEXT,            -- JSON { closeDay, dueDays }, post-paid only
        tariff_id          TEXT NOT NULL,
        currency           TEXT NOT NULL,
        credit_limit_minor INTEGER NOT NULL,
        warn_first_minor   INTEGER NOT NULL,
        warn_second_minor  INTEGER NOT NULL,
        reconnect_minor    INTEGER NOT NULL,
        protected          INTEGER NOT NULL,
        notify             TEXT NOT NULL,   -- JSON NotificationTarget
        created_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL
      );
      CREATE INDEX fee_accounts_mode ON fee_accounts(mode, id);

      -- The primary key on the meter is the rule: a meter belongs to at most one account.
      CREATE TABLE fee_account_meters (
        meter_id   TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES fee_accounts(id) ON DELETE CASCADE,
        position   INTEGER NOT NULL
      );
      CREATE INDEX fee_account_meters_account ON fee_account_meters(account_id, position);

      -- Append-only. (account_id, key) makes a charge or payment booked twice add nothing;
      -- a paymentId is credited once and reversed once across the store; an API request's
      -- Idempotency-Key finds its row again (per actor).
      CREATE TABLE fee_ledger (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id      TEXT NOT NULL REFERENCES fee_accounts(id) ON DELETE RESTRICT,
        kind            TEXT NOT NULL CHECK (kind IN ('charge','provisional-charge','true-up','payment','reversal','adjustment')),
        amount_minor    INTEGER NOT NULL,
        currency        TEXT NOT NULL,
        key             TEXT NOT NULL,
        at              INTEGER NOT NULL,
        period_from     INTEGER,
        period_to       INTEGER,
        payment_id      TEXT,
        detail          TEXT,               -- JSON
        actor           TEXT NOT NULL,
        request_key     TEXT,
        body_hash       TEXT,
        UNIQUE (account_id, key)
      );
      CREATE INDEX fee_ledger_account ON fee_ledger(account_id, seq);
      CREATE UNIQUE INDEX fee_ledger_payment ON fee_ledger(payment_id) WHERE kind = 'payment';
      CREATE UNIQUE INDEX fee_ledger_reversal ON fee_ledger(payment_id) WHERE kind = 'reversal';
      CREATE UNIQUE INDEX fee_ledger_request ON fee_ledger(actor, request_key) WHERE request_key IS NOT NULL;
      CREATE TRIGGER fee_ledger_no_update BEFORE UPDATE ON fee_ledger
        BEGIN SELECT RAISE(ABORT, 'fee_ledger is append-only'); END;
      CREATE TRIGGER fee_ledger_no_delete BEFORE DELETE ON fee_ledger
        BEGIN SELECT RAISE(ABORT, 'fee_ledger is append-only'); END;

      -- SUM(amount_minor) of the account's ledger through through_seq, written with the rows.
      CREATE TABLE fee_balances (
        account_id    TEXT PRIMARY KEY REFERENCES fee_accounts(id) ON DELETE CASCADE,
        balance_minor INTEGER NOT NULL,
        through_seq   INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE fee_control_states (
        account_id         TEXT PRIMARY KEY REFERENCES fee_accounts(id) ON DELETE CASCADE,
        stage              TEXT NOT NULL CHECK (stage IN ('normal','warned-first','warned-second','disconnect-pending','disconnected','reconnecting')),
        warned_first_at    INTEGER,
        warned_second_at   INTEGER,
        disconnect_due_at  INTEGER,
        next_window_at     INTEGER,
        disconnected_at    INTEGER,
        last_command_id    TEXT,
        updated_at         INTEGER NOT NULL,
        version            INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX fee_control_states_stage ON fee_control_states(stage, account_id);

      -- Append-only, and kept when an account without ledger rows is deleted: why the station acted stays readable.
      CREATE TABLE fee_decisions (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id     TEXT NOT NULL,
        at             INTEGER NOT NULL,
        action         TEXT NOT NULL,
        reason         TEXT NOT NULL,
        message        TEXT NOT NULL,
        balance_minor  INTEGER NOT NULL,
        next_window_at INTEGER,
        command_id     TEXT,
        dry_run        INTEGER NOT NULL
      );
      CREATE INDEX fee_decisions_account ON fee_decisions(account_id, seq);
      CREATE TRIGGER fee_decisions_no_update BEFORE UPDATE ON fee_decisions
        BEGIN SELECT RAISE(ABORT, 'fee_decisions is append-only'); END;
      CREATE TRIGGER fee_decisions_no_delete BEFORE DELETE ON fee_decisions
        BEGIN SELECT RAISE(ABORT, 'fee_decisions is append-only'); END;

      -- One row: the declared emergency or extreme-weather flag.
      CREATE TABLE fee_emergency (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        active  INTEGER NOT NULL,
        reason  TEXT,
        set_by  TEXT,
        since   INTEGER
      );
    `,
  },
  {
    version: 20,
    name: 'fee report indexes',
    sql: `
      -- src/fees/reports/sqlReports.ts: the recovery rate reads a month's charges and payments
      -- by kind and booking time; disconnection periods read the disconnect and reconnect
      -- decisions of each account in order.
      CREATE INDEX fee_ledger_kind_at ON fee_ledger(kind, at);
      CREATE INDEX fee_decisions_action ON fee_decisions(action, account_id, seq);
    `,
  },
  {
    version: 21,
    name: 'workflow definitions',
    sql: `
      -- src/workflows/definitions: every deployed version of a BPMN process, as deployed. A
      -- running instance names its (key, version) and finds that XML again after a restart,
      -- so a version is never rewritten nor removed.
      CREATE TABLE workflow_definitions (
        key         TEXT NOT NULL,
        version     INTEGER NOT NULL CHECK (version >= 1),
        name        TEXT NOT NULL,
        xml         TEXT NOT NULL,
        hash        TEXT NOT NULL,     -- SHA-256 of the XML, hex
        deployed_at INTEGER NOT NULL,
        deployed_by TEXT NOT NULL,
        shipped     INTEGER NOT NULL CHECK (shipped IN (0, 1)),
        PRIMARY KEY (key, version)
      );
      CREATE TRIGGER workflow_definitions_no_update BEFORE UPDATE ON workflow_definitions
        BEGIN SELECT RAISE(ABORT, 'workflow_definitions versions are never rewritten'); END;
      CREATE TRIGGER workflow_definitions_no_delete BEFORE DELETE ON workflow_definitions
        BEGIN SELECT RAISE(ABORT, 'workflow_definitions versions are never removed'); END;
    `,
  },
  {
    version: 22,
    name: 'workflow instances, history and effects',
    sql: `
      -- src/workflows/runtime/sqliteStore.ts. state: the engine's JSON without the definition
      -- source (stored once per version), null once the instance has ended.
      CREATE TABLE workflow_instances (
        id           TEXT PRIMARY KEY,
        process_key  TEXT NOT NULL,
        version      INTEGER NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('running','completed','failed','cancelled')),
        trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('alarm','fee','api','dashboard')),
        trigger_ref  TEXT,
        business_key TEXT,
        variables    TEXT NOT NULL,   -- JSON object
        waiting      TEXT NOT NULL,   -- JSON WaitingStep[]
        state        TEXT,
        started_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        ended_at     INTEGER,
        error        TEXT
      );
      -- One alarm starts at most one instance per process, ever; a fee account has at most one
      -- running instance per process (a later arrears episode starts the next one).
      CREATE UNIQUE INDEX workflow_instances_trigger ON workflow_instances(process_key, trigger_kind, trigger_ref)
        WHERE trigger_kind = 'alarm' OR (trigger_kind = 'fee' AND status = 'running');
      CREATE INDEX workflow_instances_started ON workflow_instances(started_at DESC, id DESC);
      CREATE INDEX workflow_instances_status ON workflow_instances(status, started_at DESC, id DESC);
      CREATE INDEX workflow_instances_process ON workflow_instances(process_key, started_at DESC, id DESC);
      CREATE INDEX workflow_instances_business ON workflow_instances(business_key, started_at DESC, id DESC);

      CREATE TABLE workflow_history (
        instance_id  TEXT NOT NULL REFERENCES workflow_instances(id) ON DELETE CASCADE,
        seq          INTEGER NOT NULL,
        at           INTEGER NOT NULL,
        element_id   TEXT NOT NULL,
        element_type TEXT NOT NULL,
        event        TEXT NOT NULL,
        detail       TEXT,
        PRIMARY KEY (instance_id, seq)
      ) WITHOUT ROWID;

      -- A service task's effect by step: a step run again after a restart answers this output.
      CREATE TABLE workflow_effects (
        instance_id TEXT NOT NULL REFERENCES workflow_instances(id) ON DELETE CASCADE,
        step_key    TEXT NOT NULL,
        action      TEXT NOT NULL,
        output      TEXT NOT NULL,   -- JSON object
        at          INTEGER NOT NULL,
        PRIMARY KEY (instance_id, step_key)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 23,
    name: 'work orders, their comments and history; the field role',
    sql: `
      -- src/workOrders/sqliteStore.ts. key: a workflow step's idempotency key (null for orders
      -- made by hand); change_seq: station-wide, increasing on every change (work_order_counters).
      CREATE TABLE work_orders (
        id                 TEXT PRIMARY KEY,
        number             TEXT NOT NULL UNIQUE,
        key                TEXT UNIQUE,
        type               TEXT NOT NULL,
        title              TEXT NOT NULL,
        meter_id           TEXT,
        customer           TEXT,
        area_id            TEXT,
        role               TEXT,
        assignee           TEXT,
        due_at             INTEGER,
        state              TEXT NOT NULL CHECK (state IN ('open','assigned','in-progress','done','cancelled')),
        result             TEXT,              -- JSON: the form's fields
        result_text        TEXT,
        escalations        INTEGER NOT NULL,
        alarm_id           TEXT,
        source_instance_id TEXT,
        source_process_key TEXT,
        source_element_id  TEXT,
        created_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL,
        closed_at          INTEGER,
        change_seq         INTEGER NOT NULL UNIQUE
      );
      -- Lists come newest first by (created_at, id), filtered by one of these.
      CREATE INDEX work_orders_created ON work_orders(created_at, id);
      CREATE INDEX work_orders_state ON work_orders(state, created_at, id);
      CREATE INDEX work_orders_assignee ON work_orders(assignee, created_at, id);
      CREATE INDEX work_orders_area ON work_orders(area_id, created_at, id);
      CREATE INDEX work_orders_role ON work_orders(role, created_at, id);
      CREATE INDEX work_orders_type ON work_orders(type, created_at, id);
      CREATE INDEX work_orders_meter ON work_orders(meter_id, created_at, id);

      CREATE TABLE work_order_comments (
        order_id TEXT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        at       INTEGER NOT NULL,
        by       TEXT NOT NULL,
        text     TEXT NOT NULL,
        PRIMARY KEY (order_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE work_order_events (
        order_id TEXT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        at       INTEGER NOT NULL,
        by       TEXT NOT NULL,
        event    TEXT NOT NULL CHECK (event IN ('created','assigned','started','escalated','completed','cancelled','commented')),
        detail   TEXT,
        PRIMARY KEY (order_id, seq)
      ) WITHOUT ROWID;

      -- The order numbers given and the last change number, drawn in each write's transaction.
      CREATE TABLE work_order_counters (
        name  TEXT PRIMARY KEY CHECK (name IN ('number','change')),
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO work_order_counters (name, value) VALUES ('number', 0), ('change', 0);

      -- SQLite cannot alter a CHECK: users and api_tokens are rebuilt with the field role.
      -- Sessions refer to users (foreign keys are on during migrations): set aside and put back.
      CREATE TEMP TABLE sessions_kept AS SELECT id_hash, user_name, created_at, last_seen_at, expires_at FROM sessions;
      DELETE FROM sessions;
      CREATE TABLE users_rebuilt (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL CHECK (role IN ('viewer','operator','admin','billing','field')),
        password_hash TEXT NOT NULL,
        disabled      INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        last_login_at INTEGER
      ) WITHOUT ROWID;
      INSERT INTO users_rebuilt (name, role, password_hash, disabled, created_at, updated_at, last_login_at)
        SELECT name, role, password_hash, disabled, created_at, updated_at, last_login_at FROM users;
      DROP TABLE users;
      ALTER TABLE users_rebuilt RENAME TO users;
      INSERT INTO sessions (id_hash, user_name, created_at, last_seen_at, expires_at)
        SELECT id_hash, user_name, created_at, last_seen_at, expires_at FROM sessions_kept;
      DROP TABLE sessions_kept;

      CREATE TABLE api_tokens_rebuilt (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('viewer','operator','admin','billing','field')),
        prefix       TEXT NOT NULL,
        hash         BLOB NOT NULL,
        created_at   INTEGER NOT NULL,
        created_by   TEXT NOT NULL,
        last_used_at INTEGER,
        expires_at   INTEGER,
        revoked_at   INTEGER
      );
      INSERT INTO api_tokens_rebuilt (id, name, role, prefix, hash, created_at, created_by, last_used_at, expires_at, revoked_at)
        SELECT id, name, role, prefix, hash, created_at, created_by, last_used_at, expires_at, revoked_at FROM api_tokens;
      -- AUTOINCREMENT never gives an id twice: the rebuilt table goes on from the old one's last id.
      DELETE FROM sqlite_sequence WHERE name = 'api_tokens_rebuilt';
      INSERT INTO sqlite_sequence (name, seq)
        SELECT 'api_tokens_rebuilt', MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'api_tokens'), 0), COALESCE((SELECT MAX(id) FROM api_tokens_rebuilt), 0));
      DROP TABLE api_tokens;
      ALTER TABLE api_tokens_rebuilt RENAME TO api_tokens;
      CREATE INDEX api_tokens_prefix ON api_tokens(prefix);
      CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at IS NULL;
    `,
  },
  {
    version: 24,
    name: 'firmware images, campaigns and their devices',
    sql: `
      -- src/firmware/sqliteStore.ts. An image is kept whole (bytes), so any node can send it.
      CREATE TABLE firmware_images (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        identifier  TEXT NOT NULL,
        version     TEXT NOT NULL,
        size        INTEGER NOT NULL,
        sha256      TEXT NOT NULL,
        signature   TEXT,
        bytes       BLOB NOT NULL,
        uploaded_at INTEGER NOT NULL,
        uploaded_by TEXT NOT NULL
      );
      CREATE INDEX firmware_images_uploaded ON firmware_images(uploaded_at DESC, id DESC);

      -- definition: JSON {group, window, rate, activation, failureBudget}, fixed at creation.
      CREATE TABLE firmware_campaigns (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        image_id     TEXT NOT NULL REFERENCES firmware_images(id) ON DELETE RESTRICT,
        definition   TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('draft','running','paused','completed','cancelled')),
        pause_reason TEXT CHECK (pause_reason IN ('operator','failure-budget')),
        created_at   INTEGER NOT NULL,
        created_by   TEXT NOT NULL,
        started_at   INTEGER,
        finished_at  INTEGER
      );
      CREATE INDEX firmware_campaigns_created ON firmware_campaigns(created_at DESC, id DESC);

      -- The campaign's snapshot of target devices, one row each, written after every slice.
      CREATE TABLE firmware_campaign_devices (
        campaign_id  TEXT NOT NULL REFERENCES firmware_campaigns(id) ON DELETE CASCADE,
        meter_id     TEXT NOT NULL,
        terminal_id  TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('pending','transferring','verifying','verified','activating','done','failed','skipped')),
        blocks_held  INTEGER NOT NULL,
        blocks_total INTEGER NOT NULL,
        block_size   INTEGER NOT NULL,
        initiated    INTEGER NOT NULL,
        reason       TEXT,
        code         TEXT,
        from_version TEXT,
        to_version   TEXT,
        attempts     INTEGER NOT NULL,
        not_before   INTEGER NOT NULL,
        offer_id     TEXT,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (campaign_id, meter_id)
      ) WITHOUT ROWID;
      CREATE INDEX firmware_campaign_devices_state ON firmware_campaign_devices(campaign_id, state, meter_id);
      CREATE INDEX firmware_campaign_devices_offer ON firmware_campaign_devices(offer_id) WHERE offer_id IS NOT NULL;
    `,
  },
];
