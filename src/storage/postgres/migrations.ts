/**
 * Versioned schema of the PostgreSQL store. Append only, as the embedded store's
 * (src/storage/migrations.ts): never edit a migration that has shipped; add the next version.
 * `schema_migrations` records what is applied.
 *
 * Each migration runs in a transaction of its own, so one that fails leaves the database as
 * it was before it (PostgreSQL's DDL is transactional). The transaction first takes an
 * advisory lock, so nodes that start at once migrate one after the other: the second finds
 * the version recorded and skips it.
 */
import type { Migration } from '../migrations.js';
import { ADVISORY_LOCK_SPACE, type PostgresDatabase, type TransactionSql } from './connection.js';
import { PostgresMigrationFailed, databaseError } from './errors.js';

export type { Migration };

export const LOCK_MIGRATIONS = 1;

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'readings, range-partitioned by day; quantity codes',
    sql: `
      -- Catalogue name → compact code, as the embedded store's quantity_codes: codes are kept by name forever.
      CREATE TABLE quantity_codes (
        code smallint PRIMARY KEY,
        name text NOT NULL UNIQUE
      );

      -- One row per meter, quantity and device timestamp; a re-read overwrites, never duplicates.
      -- Range-partitioned on ts by UTC day (src/storage/postgres/partitions.ts creates and drops
      -- the partitions). The primary key serves a meter's quantity over a range, and an area's
      -- meters at a time (meter_key = ANY(area's keys): one seek per meter); its index is
      -- created on every partition.
      CREATE TABLE readings (
        meter_key integer          NOT NULL,  -- meters.key
        quantity  smallint         NOT NULL,  -- quantity_codes.code
        ts        bigint           NOT NULL,  -- device time, ms since epoch
        value     double precision NOT NULL,
        quality   smallint         NOT NULL,  -- 0 good, 1 suspect, 2 bad
        source    smallint         NOT NULL,  -- 0 poll, 1 push
        PRIMARY KEY (meter_key, quantity, ts)
      ) PARTITION BY RANGE (ts);

      -- The whole fleet at one time (the billing export at midnight, every meter of an area's
      -- transformer at once): readings arrive in time order, so a BRIN index of a few pages
      -- per partition narrows a day to the blocks of that instant at almost no insert cost.
      CREATE INDEX readings_ts_brin ON readings USING brin (ts);
    `,
  },
  {
    version: 2,
    name: 'collection statistics and profile cursors',
    sql: `
      -- Collection success rate: items collected against items expected, per terminal and
      -- station-local day; flushes add to a row, never overwrite it.
      CREATE TABLE collection_stats (
        day         text   NOT NULL,  -- YYYY-MM-DD, station local time
        terminal_id text   NOT NULL,
        expected    bigint NOT NULL,
        collected   bigint NOT NULL,
        PRIMARY KEY (day, terminal_id)
      );

      -- The newest entry collected of each meter's stored profile (load, daily, billing): the
      -- next read starts after it. It only moves forward.
      CREATE TABLE profile_cursors (
        meter_id   text   NOT NULL,
        profile    text   NOT NULL,
        last_ts    bigint NOT NULL,  -- capture time, ms since epoch
        updated_at bigint NOT NULL,
        PRIMARY KEY (meter_id, profile)
      );
    `,
  },
  {
    version: 3,
    name: 'meter replacements recorded through the API',
    sql: `
      -- Meter exchanges under the same meter id: consumption across one is the old meter up to
      -- old_final plus the new one from new_initial. A correction overwrites the same (meter, at).
      CREATE TABLE meter_replacements (
        meter_id    text             NOT NULL,
        at          bigint           NOT NULL,  -- ms since epoch
        old_final   double precision NOT NULL,  -- last register value of the removed meter
        new_initial double precision NOT NULL,  -- first register value of the installed meter
        created_at  bigint           NOT NULL,
        PRIMARY KEY (meter_id, at)
      );
    `,
  },
  {
    version: 4,
    name: 'DLMS invocation counters',
    sql: `
      -- Outgoing invocation counter per key (scope, generation): every number up to 'reserved'
      -- may have been used by some node, so the next block starts after it. Only ever raised
      -- by one atomic statement (src/security/postgresCounterStore.ts).
      CREATE TABLE dlms_outgoing_counters (
        scope      text    NOT NULL,
        generation integer NOT NULL,
        reserved   bigint  NOT NULL CHECK (reserved >= 0),
        PRIMARY KEY (scope, generation)
      );

      -- Last invocation counter accepted from each meter under a key (scope, generation).
      CREATE TABLE dlms_incoming_counters (
        meter_id      text    NOT NULL,
        scope         text    NOT NULL,
        generation    integer NOT NULL,
        last_accepted bigint  NOT NULL CHECK (last_accepted >= 0),
        PRIMARY KEY (meter_id, scope, generation)
      );
      -- A key change drops its older generations' rows by scope.
      CREATE INDEX dlms_incoming_counters_scope ON dlms_incoming_counters (scope, generation);
    `,
  },
  {
    version: 5,
    name: 'DLMS keys sealed under the master key',
    sql: `
      -- One row per key set (a meter's own, or a key group's). generation grows with every
      -- change of EK, AK or BK: invocation counters are bound to it (IV uniqueness is per key).
      CREATE TABLE key_sets (
        scope      text    PRIMARY KEY,   -- 'meter:<id>' or 'group:<name>'
        generation integer NOT NULL,
        updated_at bigint  NOT NULL       -- ms since epoch
      );

      -- Each secret sealed with AES-256-GCM under the master key; the AAD binds scope, name
      -- and generation, so a row moved to another meter or slot does not decrypt.
      CREATE TABLE key_records (
        scope  text  NOT NULL REFERENCES key_sets (scope) ON DELETE CASCADE,
        name   text  NOT NULL CHECK (name IN ('ek', 'ak', 'bk', 'password')),
        nonce  bytea NOT NULL,
        sealed bytea NOT NULL,            -- ciphertext followed by the 16-octet tag
        PRIMARY KEY (scope, name)
      );

      -- A known value sealed under the master key: a wrong key is detected at start.
      CREATE TABLE key_store_check (
        id     smallint PRIMARY KEY CHECK (id = 1),
        nonce  bytea NOT NULL,
        sealed bytea NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'DLMS security events',
    sql: `
      CREATE TABLE security_events (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts           bigint NOT NULL,     -- ms since epoch
        meter_id     text,
        terminal_id  text,
        kind         text   NOT NULL,
        detail       text   NOT NULL,
        system_title text,
        counter      bigint
      );
      CREATE INDEX security_events_ts ON security_events (ts);
      CREATE INDEX security_events_meter ON security_events (meter_id, ts);
    `,
  },
  {
    version: 7,
    name: 'alarms and their comments',
    sql: `
      -- Ids come in blocks (src/alarms/postgresStore.ts): a node takes nextval and owns the
      -- block of ids from it, so the rule engine names a new alarm without a round trip.
      CREATE SEQUENCE alarm_id_blocks AS bigint INCREMENT BY 1000000 MINVALUE 1 START WITH 1;

      CREATE TABLE alarms (
        id                     bigint PRIMARY KEY,
        rule_id                text NOT NULL,
        detector               text NOT NULL,
        subject_kind           text NOT NULL CHECK (subject_kind IN ('meter', 'area', 'terminal', 'station')),
        subject_id             text NOT NULL,
        area_id                text,
        severity               text NOT NULL,
        state                  text NOT NULL CHECK (state IN ('raised', 'acknowledged', 'cleared')),
        raised_at              bigint NOT NULL,
        since                  bigint NOT NULL,
        acknowledged_at        bigint,
        acknowledged_by        text,
        cleared_at             bigint,
        explanation            text NOT NULL,
        clear_explanation      text,
        explanation_data       jsonb,
        clear_explanation_data jsonb,
        value                  double precision NOT NULL,
        updated_at             bigint NOT NULL
      );
      -- One open alarm per rule and subject, whichever node raised it.
      CREATE UNIQUE INDEX alarms_open ON alarms (rule_id, subject_kind, subject_id) WHERE state <> 'cleared';
      CREATE INDEX alarms_state ON alarms (state, id);
      CREATE INDEX alarms_area ON alarms (area_id, id);
      CREATE INDEX alarms_subject ON alarms (subject_kind, subject_id, id);
      CREATE INDEX alarms_raised ON alarms (raised_at);

      CREATE TABLE alarm_comments (
        alarm_id bigint  NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
        seq      integer NOT NULL,
        at       bigint  NOT NULL,
        "by"     text    NOT NULL,
        text     text    NOT NULL,
        PRIMARY KEY (alarm_id, seq)
      );
    `,
  },
  {
    version: 8,
    name: 'device events',
    sql: `
      -- What meters and terminals reported; meter_id is null when the registry did not know the sender.
      -- Bounded by age of arrival and by row count (src/events/postgresStore.ts prunes in chunks).
      CREATE TABLE device_events (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts          bigint NOT NULL,
        received_at bigint NOT NULL,
        meter_id    text,
        terminal_id text NOT NULL,
        code        text NOT NULL,
        source      text NOT NULL,
        detail      text
      );
      -- Newest first by device time with the id as tie-break: the API's order and its cursor.
      CREATE INDEX device_events_meter ON device_events (meter_id, ts DESC, id DESC);
      CREATE INDEX device_events_terminal ON device_events (terminal_id, ts DESC, id DESC);
      CREATE INDEX device_events_ts ON device_events (ts DESC, id DESC);
      CREATE INDEX device_events_received ON device_events (received_at);
    `,
  },
  {
    version: 9,
    name: 'rules',
    sql: `
      CREATE TABLE rules (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        description text,
        enabled     boolean NOT NULL,
        severity    text NOT NULL,
        subject     jsonb NOT NULL,   -- { meter } | { meters } | { area, includeDescendants } | { all: true }
        detector    text NOT NULL,
        params      jsonb NOT NULL,   -- validated against the detector's schema by the rule service
        origin      text NOT NULL CHECK (origin IN ('yaml', 'api')),
        created_at  bigint NOT NULL,
        updated_at  bigint NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'command service: commands, per-meter targets, idempotency keys',
    sql: `
      -- One row per command (src/control/postgresCommandStore.ts); per-meter outcomes are in command_targets.
      CREATE TABLE commands (
        id               text PRIMARY KEY,
        type             text NOT NULL CHECK (type IN ('disconnect','reconnect','set-limit','clear-limit','sync-clock')),
        params           jsonb NOT NULL,  -- limitKw, time
        scope            jsonb NOT NULL,  -- { meterIds } or { areaId }
        reason           text,
        override_reason  text,
        origin_kind      text NOT NULL CHECK (origin_kind IN ('operator','program')),
        origin_id        text NOT NULL,   -- actor, or program id
        origin_round     integer,
        source           text,            -- network address of the request
        idempotency_key  text,            -- set to NULL once expired
        body_hash        text,
        created_at       bigint NOT NULL  -- ms since epoch
      );
      -- Unique: two nodes taking the same key at once make one command, the second insert fails.
      CREATE UNIQUE INDEX commands_idempotency ON commands (origin_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX commands_created ON commands (created_at, id);

      CREATE TABLE command_targets (
        command_id    text NOT NULL REFERENCES commands (id),
        meter_id      text NOT NULL,
        seq           integer NOT NULL,   -- order within the command
        terminal_id   text NOT NULL,
        address       text NOT NULL,
        status        text NOT NULL CHECK (status IN ('pending','sent','acknowledged','verified','failed','timed-out','cancelled','refused')),
        transitions   jsonb NOT NULL,     -- array of { status, at }
        state         jsonb,              -- what the device read back
        error_code    text,
        error_message text,
        updated_at    bigint NOT NULL,
        PRIMARY KEY (command_id, meter_id)
      );
      CREATE INDEX command_targets_open ON command_targets (status) WHERE status IN ('pending','sent','acknowledged');
      CREATE INDEX command_targets_meter ON command_targets (meter_id);
    `,
  },
  {
    version: 11,
    name: 'audit log, append-only',
    sql: `
      -- Who did what, when, from where, to what, and how it ended (src/control/postgresAudit.ts).
      CREATE TABLE audit_log (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts      bigint NOT NULL,   -- ms since epoch
        actor   text NOT NULL,
        source  text,
        action  text NOT NULL,
        target  text,
        outcome text NOT NULL CHECK (outcome IN ('ok','failed','refused')),
        detail  jsonb
      );
      CREATE INDEX audit_log_ts ON audit_log (ts);
      CREATE INDEX audit_log_actor ON audit_log (actor, id);
      CREATE INDEX audit_log_target ON audit_log (target, id);

      -- Append-only: an entry once written stays as written, whoever holds the connection.
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
        END
      $$;
      CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    `,
  },
  {
    version: 12,
    name: 'control action log',
    sql: `
      -- Every control request and its result (src/control/postgresActions.ts): append, then one update to finish.
      CREATE TABLE control_actions (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        meter_id      text NOT NULL,
        command       text NOT NULL CHECK (command IN ('disconnect','reconnect','set-limit','clear-limit')),
        limit_kw      double precision,
        origin_kind   text NOT NULL CHECK (origin_kind IN ('program','operator')),
        origin_id     text NOT NULL,   -- program id or operator
        origin_round  integer,         -- shedding round, for a program
        reason        text NOT NULL,
        requested_at  bigint NOT NULL, -- ms since epoch
        status        text NOT NULL CHECK (status IN ('pending','verified','failed','refused')),
        finished_at   bigint,
        state         jsonb,           -- what the device read back
        error_code    text,
        error_message text
      );
      CREATE INDEX control_actions_meter ON control_actions (meter_id, id);
      CREATE INDEX control_actions_origin ON control_actions (origin_kind, origin_id, id);
      CREATE INDEX control_actions_pending ON control_actions (id) WHERE status = 'pending';
    `,
  },
  {
    version: 13,
    name: 'load-control program state',
    sql: `
      -- Where each load-control program stands (src/rules/loadControl/postgresStateStore.ts), so a restart neither re-trips nor forgets.
      CREATE TABLE load_control_state (
        program_id text PRIMARY KEY,
        state      jsonb NOT NULL,
        updated_at bigint NOT NULL   -- ms since epoch
      );
    `,
  },
  {
    version: 14,
    name: 'DLMS push lists and dead letters, broker drop counter, control read-backs index',
    sql: `
      -- Push object lists learnt per meter (src/storage/postgres/dlmsPushLists.ts); capped, the least recently learnt dropped.
      CREATE TABLE dlms_push_lists (
        meter_key text PRIMARY KEY,      -- terminal id / meter address
        lists     jsonb NOT NULL,        -- [{ pushSetup, objects: [{ classId, obis, attribute, dataIndex }] }]
        learnt_at bigint NOT NULL        -- ms since epoch
      );
      CREATE INDEX dlms_push_lists_learnt ON dlms_push_lists (learnt_at, meter_key);

      -- Pushes that yielded nothing, with their bytes (src/storage/postgres/dlmsPushDeadLetters.ts); capped, oldest dropped.
      CREATE TABLE dlms_push_dead_letters (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at bigint NOT NULL,     -- ms since epoch
        origin      text NOT NULL CHECK (origin IN ('tcp','mqtt')),
        peer        text NOT NULL,       -- TCP peer address:port, or the MQTT topic's terminal id
        sender      text NOT NULL,       -- peer address, topic terminal, system title: what is known
        terminal_id text,
        code        text NOT NULL,
        reason      text NOT NULL,
        apdu        bytea NOT NULL
      );
      CREATE INDEX dlms_push_dead_letters_terminal ON dlms_push_dead_letters (terminal_id, id);

      -- The broker's cumulative dropped-message counter as last seen (src/broker/postgresDropCounter.ts),
      -- so drops while the station was down are noticed at its next start. One row.
      CREATE TABLE broker_drop_counter (
        id           smallint PRIMARY KEY CHECK (id = 1),
        value        bigint NOT NULL,    -- $SYS/broker/publish/messages/dropped
        confirmed_at bigint NOT NULL     -- ms since epoch: the counter held this value at least until then
      );

      -- A meter's latest verified read-back (src/live/postgresReadBacks.ts): one seek to the
      -- meter's newest verified target, its older and unverified targets never read.
      CREATE INDEX command_targets_verified ON command_targets (meter_id, updated_at DESC) WHERE status = 'verified';
    `,
  },
  {
    version: 15,
    name: 'registry: areas, terminals, meters',
    sql: `
      -- The topology (src/registry/postgresStore.ts); every node holds it in memory as well.
      CREATE TABLE areas (
        id              text PRIMARY KEY,
        name            text NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('region', 'substation', 'feeder', 'transformer')),
        parent_id       text REFERENCES areas (id) ON DELETE RESTRICT,
        transformer_kva double precision,
        created_at      bigint NOT NULL,  -- ms since epoch
        updated_at      bigint NOT NULL
      );
      CREATE INDEX areas_parent ON areas (parent_id);

      CREATE TABLE terminals (
        id         text PRIMARY KEY,
        name       text NOT NULL,
        protocol   text NOT NULL CHECK (protocol IN ('modbus', 'mqtt', 'dlms')),
        enabled    boolean NOT NULL,
        profiles   jsonb NOT NULL,   -- array of collection profile names
        endpoint   jsonb NOT NULL,   -- { modbus } | { dlms } | { mqtt }: the protocol's settings
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );

      -- key: the compact integer readings.meter_key holds instead of the text id (an integer,
      -- as that column). An identity never hands out a number twice, so the readings a deleted
      -- meter leaves behind never become another meter's. Readings have no foreign key to it:
      -- deleting a meter keeps them, as the embedded store does.
      -- One meter per terminal address, checked at the end of each statement (deferrable), so
      -- one statement may move a meter into an address another one leaves in the same batch.
      CREATE TABLE meters (
        key             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id              text NOT NULL UNIQUE,
        name            text NOT NULL,
        terminal_id     text NOT NULL REFERENCES terminals (id) ON DELETE RESTRICT,
        address         text NOT NULL,
        ct_ratio        double precision NOT NULL,
        pt_ratio        double precision NOT NULL,
        nominal_voltage double precision,  -- Un, V; null: the ingest.plausibility default
        max_current     double precision,  -- Imax, A; null: the ingest.plausibility default
        area_id         text REFERENCES areas (id) ON DELETE RESTRICT,
        protected       boolean NOT NULL,
        customer_ref    text,
        account_ref     text,
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL,
        CONSTRAINT meters_terminal_address UNIQUE (terminal_id, address) DEFERRABLE INITIALLY IMMEDIATE
      );
      CREATE INDEX meters_area ON meters (area_id);
    `,
  },
  {
    version: 16,
    name: 'users, API tokens, sessions',
    sql: `
      -- Dashboard users (src/auth/postgresStore.ts): password_hash is scrypt with its salt and cost (src/auth/passwords.ts).
      CREATE TABLE users (
        name          text PRIMARY KEY,
        role          text NOT NULL CHECK (role IN ('viewer','operator','admin','billing')),
        password_hash text NOT NULL,
        disabled      boolean NOT NULL,
        created_at    bigint NOT NULL,   -- ms since epoch
        updated_at    bigint NOT NULL,
        last_login_at bigint
      );

      -- API tokens: only the SHA-256 of the token is kept; prefix (its first characters) finds the row on every request.
      CREATE TABLE api_tokens (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name         text NOT NULL,
        role         text NOT NULL CHECK (role IN ('viewer','operator','admin','billing')),
        prefix       text NOT NULL,
        hash         bytea NOT NULL,
        created_at   bigint NOT NULL,
        created_by   text NOT NULL,
        last_used_at bigint,
        expires_at   bigint,
        revoked_at   bigint
      );
      CREATE INDEX api_tokens_prefix ON api_tokens (prefix) WHERE revoked_at IS NULL;
      -- One active token per name, also when two nodes create it at once.
      CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

      -- Dashboard sessions: the cookie carries a random id, the store its SHA-256.
      CREATE TABLE sessions (
        id_hash      bytea PRIMARY KEY,
        user_name    text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        created_at   bigint NOT NULL,
        last_seen_at bigint NOT NULL,
        expires_at   bigint NOT NULL
      );
      CREATE INDEX sessions_user ON sessions (user_name, created_at);
    `,
  },
  {
    version: 17,
    name: 'where an import from an embedded store stands',
    sql: `
      -- An import of an embedded station (gridhead db import, src/storage/import/): a database
      -- holds one station, so one row, whose fingerprint tells its own source from another's.
      CREATE TABLE import_runs (
        source      text PRIMARY KEY,   -- fingerprint of the embedded store (its registry's meters)
        source_dir  text   NOT NULL,    -- the data directory it was read from, for messages
        started_at  bigint NOT NULL,    -- ms since epoch
        finished_at bigint              -- null until every table is copied
      );

      -- Per table, the resumption key of the last batch committed, written in that batch's own
      -- transaction: an interrupted import continues after it, never copying a row twice.
      CREATE TABLE import_progress (
        source     text    NOT NULL REFERENCES import_runs (source),
        table_name text    NOT NULL,
        last_key   jsonb,              -- the key column values of the last row read; null: none yet
        read       bigint  NOT NULL DEFAULT 0,   -- source rows read
        copied     bigint  NOT NULL DEFAULT 0,   -- rows inserted
        done       boolean NOT NULL DEFAULT false,
        PRIMARY KEY (source, table_name)
      );
    `,
  },
  {
    version: 18,
    name: 'cluster members and leases',
    sql: `
      -- Every node of the station (src/cluster/membership.ts). Times are the database's own
      -- (now() on the server), so the nodes' clocks never meet: a member is live while
      -- heartbeat_at is younger than its lease_ms by the server's clock.
      CREATE TABLE cluster_nodes (
        id           text PRIMARY KEY,      -- cluster.nodeId, stable across restarts
        roles        text[]      NOT NULL,
        mode         text        NOT NULL,  -- single | active-standby | sharded
        api_url      text,                  -- where peers and a load balancer reach its API
        version      text        NOT NULL,  -- the station's version
        lease_ms     integer     NOT NULL,  -- live while the heartbeat is younger than this
        started_at   timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL,
        left_at      timestamptz            -- set by a clean stop; null while running
      );

      -- Leases by name (the leader's, later one per area), src/cluster/lease.ts. token grows by
      -- one with every new holder and never on renewal: it fences a side effect (fencing.ts).
      CREATE TABLE cluster_leases (
        name        text PRIMARY KEY,
        holder      text        NOT NULL,
        token       bigint      NOT NULL,
        acquired_at timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL
      );
    `,
  },
  {
    version: 19,
    name: 'alarm notification marks',
    sql: `
      -- Which alarm changes the leader let out to the notifiers (src/alarms/notify/fencing.ts):
      -- written under its fencing token before anything is sent, so a notification leaves only
      -- from the leader of the moment. One row per alarm and change, the latest sender's.
      CREATE TABLE alarm_notifications (
        alarm_id bigint NOT NULL,
        change   text   NOT NULL,  -- raised | updated | acknowledged | cleared | ...
        lease    text   NOT NULL,
        token    bigint NOT NULL,  -- the sender's fencing token
        at       bigint NOT NULL,  -- ms since the epoch, the sender's clock
        PRIMARY KEY (alarm_id, change)
      );
    `,
  },
  {
    version: 20,
    name: 'command targets awaiting their read-back',
    sql: `
      -- A send marked failed (INTERRUPTED) by a node that took the terminal over, whose read-back
      -- has not come yet: the mark is the last transition, right after sent or acknowledged. If
      -- that node gives the terminal up before the read, the next executor finds the target
      -- here (src/control/pickup.ts); the index holds only those, however long the history.
      CREATE INDEX command_targets_unread ON command_targets (command_id, meter_id)
        WHERE status = 'failed' AND error_code = 'INTERRUPTED' AND (transitions -> -2 ->> 'status') IN ('sent', 'acknowledged');
    `,
  },
  {
    version: 21,
    name: 'daily read success per meter, counted per area and day',
    sql: `
      -- Meters expected and meters read completely, per station-local day and area (the area the
      -- meter was in when counted; '' for meters without one): src/collect/meterDays.ts, as the
      -- embedded store's. Flushes add, never overwrite.
      CREATE TABLE collection_area_stats (
        day       text   NOT NULL,  -- YYYY-MM-DD, station local time
        area_id   text   NOT NULL,
        expected  bigint NOT NULL,
        collected bigint NOT NULL,
        PRIMARY KEY (day, area_id)
      );
      CREATE INDEX collection_area_stats_area ON collection_area_stats (area_id, day);

      -- That a meter was counted on a day, where, and whether it was read: a meter counts once a
      -- day on whichever node reads it. Only the last two days are kept.
      CREATE TABLE collection_meter_days (
        day      text    NOT NULL,
        meter_id text    NOT NULL,
        area_id  text    NOT NULL,
        read     boolean NOT NULL,
        PRIMARY KEY (day, meter_id)
      );
    `,
  },
  {
    version: 22,
    name: 'list routes: an index per filter that also gives the page order',
    sql: `
      -- Every list route pages by keyset (WHERE (k1, k2) < cursor ORDER BY k1 DESC, k2 DESC
      -- LIMIT n): with an index leading with the filter and ending with the order, a page
      -- is one index range whatever the table holds; without one it is a scan or a sort.
      CREATE INDEX alarms_severity ON alarms (severity, id);
      CREATE INDEX alarms_rule ON alarms (rule_id, id);
      CREATE INDEX device_events_code ON device_events (code, ts DESC, id DESC);
      CREATE INDEX audit_log_action ON audit_log (action, id);
      CREATE INDEX security_events_meter_id ON security_events (meter_id, id);
      CREATE INDEX security_events_kind ON security_events (kind, id);
      CREATE INDEX commands_type ON commands (type, created_at, id);
      CREATE INDEX commands_origin ON commands (origin_kind, origin_id, created_at, id);
      -- Billing pages meters by id in byte order (the embedded store's, and what a client's
      -- cursor compares by), which the unique index in the database's collation does not give.
      CREATE INDEX meters_id_bytes ON meters (id COLLATE "C");
      DROP INDEX meters_area;
      CREATE INDEX meters_area ON meters (area_id, id COLLATE "C");
    `,
  },
  {
    version: 23,
    name: 'registry change log: what each committed registry change touched, under a sequence number',
    sql: `
      -- Nodes follow each other's registry changes by reading this log after the last
      -- sequence they applied, so a batch of any size reaches them as the ids it touched,
      -- never as a reload of everything. Triggers write it, so every change to the three
      -- tables is logged, whoever makes it; deletes are logged like the rest (a follower
      -- finds the row gone).
      --
      -- One sequence number per transaction, taken before its first registry row is
      -- written and held (the counter's row lock) until it commits: numbers commit in
      -- order, so a follower that has read up to n never later finds a smaller one, and a
      -- rollback gives its number back, so there are no gaps. Writers of the registry
      -- queue behind each other for that; the row locks of their writes would mostly make
      -- them do so anyway.
      CREATE TABLE registry_change_seq (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        seq      bigint  NOT NULL,
        xid      xid8    NOT NULL,
        -- Everything up to this sequence may be gone from the log: a follower behind it reloads.
        pruned   bigint  NOT NULL
      );
      INSERT INTO registry_change_seq (seq, xid, pruned) VALUES (0, '0', 0);

      CREATE TABLE registry_change_log (
        seq    bigint      NOT NULL,
        -- 0 area, 1 terminal, 2 meter: in the log's order, parents before the entries that refer to them.
        kind   smallint    NOT NULL,
        id     text        NOT NULL,
        -- The writing store (setting gridhead.registry_origin), so a node skips its own changes; null for anyone else.
        origin text,
        at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (seq, kind, id)
      );
      CREATE INDEX registry_change_log_at ON registry_change_log (at);

      CREATE FUNCTION registry_change_begin() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE registry_change_seq SET seq = seq + 1, xid = pg_current_xact_id() WHERE xid <> pg_current_xact_id();
        RETURN NULL;
      END $$;

      CREATE FUNCTION registry_change_log() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO registry_change_log (seq, kind, id, origin)
        SELECT s.seq, TG_ARGV[0]::smallint, c.id, nullif(current_setting('gridhead.registry_origin', true), '')
        FROM changed c, registry_change_seq s
        ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$;
    ` + ([['areas', 0], ['terminals', 1], ['meters', 2]] as const).map(([table, kind]) => `
      CREATE TRIGGER ${table}_change_begin BEFORE INSERT OR UPDATE OR DELETE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION registry_change_begin();
      CREATE TRIGGER ${table}_change_inserted AFTER INSERT ON ${table} REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION registry_change_log('${kind}');
      CREATE TRIGGER ${table}_change_updated AFTER UPDATE ON ${table} REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION registry_change_log('${kind}');
      CREATE TRIGGER ${table}_change_deleted AFTER DELETE ON ${table} REFERENCING OLD TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION registry_change_log('${kind}');`).join(''),
  },
  {
    version: 24,
    name: 'purchases of the purchase-energy programs',
    sql: `
      -- Every kWh top-up of a purchase-energy program (src/rules/loadControl/postgresStateStore.ts),
      -- appended once by whichever node took the request: a purchase id, or an Idempotency-Key,
      -- seen again adds nothing. The leader sums them at every tick.
      CREATE TABLE load_control_purchases (
        program_id      text   NOT NULL,
        purchase_id     text   NOT NULL,
        wh              bigint NOT NULL CHECK (wh > 0),  -- kWh × 1000, exact
        idempotency_key text   NOT NULL,
        actor           text   NOT NULL,
        at              bigint NOT NULL,                 -- ms since epoch
        PRIMARY KEY (program_id, purchase_id)
      );
      CREATE UNIQUE INDEX load_control_purchases_key ON load_control_purchases (program_id, idempotency_key);
      CREATE INDEX load_control_purchases_at ON load_control_purchases (program_id, at);
    `,
  },
  {
    version: 25,
    name: 'commands on a meter\'s own account: read-account, add-credit',
    sql: `
      ALTER TABLE commands DROP CONSTRAINT commands_type_check;
      ALTER TABLE commands ADD CONSTRAINT commands_type_check
        CHECK (type IN ('disconnect','reconnect','set-limit','clear-limit','sync-clock','read-account','add-credit'));
    `,
  },
  {
    version: 26,
    name: 'fee accounts, ledger, balances, fee-control state and decisions',
    sql: `
      -- src/fees/postgresStore.ts; the embedded store's migration 17 on PostgreSQL. Ids
      -- compare byte-wise (COLLATE "C"), as the embedded store orders them.
      CREATE TABLE fee_accounts (
        id                 text COLLATE "C" PRIMARY KEY,
        customer_ref       text NOT NULL,
        name               text NOT NULL,
        mode               text NOT NULL CHECK (mode IN ('prepaid','postpaid')),
        cycle              jsonb,
        tariff_id          text NOT NULL,
        currency           text NOT NULL,
        credit_limit_minor bigint NOT NULL,
        warn_first_minor   bigint NOT NULL,
        warn_second_minor  bigint NOT NULL,
        reconnect_minor    bigint NOT NULL,
        protected          boolean NOT NULL,
        notify             jsonb NOT NULL,
        created_at         bigint NOT NULL,
        updated_at         bigint NOT NULL
      );
      CREATE INDEX fee_accounts_mode ON fee_accounts(mode, id);

      CREATE TABLE fee_account_meters (
        meter_id   text PRIMARY KEY,
        account_id text COLLATE "C" NOT NULL REFERENCES fee_accounts(id) ON DELETE CASCADE,
        position   integer NOT NULL
      );
      CREATE INDEX fee_account_meters_account ON fee_account_meters(account_id, position);

      CREATE TABLE fee_ledger (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id   text COLLATE "C" NOT NULL REFERENCES fee_accounts(id) ON DELETE RESTRICT,
        kind         text NOT NULL CHECK (kind IN ('charge','provisional-charge','true-up','payment','reversal','adjustment')),
        amount_minor bigint NOT NULL,
        currency     text NOT NULL,
        key          text NOT NULL,
        at           bigint NOT NULL,
        period_from  bigint,
        period_to    bigint,
        payment_id   text,
        detail       jsonb,
        actor        text NOT NULL,
        request_key  text,
        body_hash    text,
        UNIQUE (account_id, key)
      );
      CREATE INDEX fee_ledger_account ON fee_ledger(account_id, seq);
      CREATE UNIQUE INDEX fee_ledger_payment ON fee_ledger(payment_id) WHERE kind = 'payment';
      CREATE UNIQUE INDEX fee_ledger_reversal ON fee_ledger(payment_id) WHERE kind = 'reversal';
      CREATE UNIQUE INDEX fee_ledger_request ON fee_ledger(actor, request_key) WHERE request_key IS NOT NULL;
      CREATE FUNCTION fee_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END
      $$;
      CREATE TRIGGER fee_ledger_no_change BEFORE UPDATE OR DELETE ON fee_ledger
        FOR EACH ROW EXECUTE FUNCTION fee_append_only();
      CREATE TRIGGER fee_ledger_no_truncate BEFORE TRUNCATE ON fee_ledger
        FOR EACH STATEMENT EXECUTE FUNCTION fee_append_only();

      CREATE TABLE fee_balances (
        account_id    text COLLATE "C" PRIMARY KEY REFERENCES fee_accounts(id) ON DELETE CASCADE,
        balance_minor bigint NOT NULL,
        through_seq   bigint NOT NULL
      );

      CREATE TABLE fee_control_states (
        account_id        text COLLATE "C" PRIMARY KEY REFERENCES fee_accounts(id) ON DELETE CASCADE,
        stage             text NOT NULL CHECK (stage IN ('normal','warned-first','warned-second','disconnect-pending','disconnected','reconnecting')),
        warned_first_at   bigint,
        warned_second_at  bigint,
        disconnect_due_at bigint,
        next_window_at    bigint,
        disconnected_at   bigint,
        last_command_id   text,
        updated_at        bigint NOT NULL,
        version           bigint NOT NULL
      );
      CREATE INDEX fee_control_states_stage ON fee_control_states(stage, account_id);

      CREATE TABLE fee_decisions (
        seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id     text NOT NULL,
        at             bigint NOT NULL,
        action         text NOT NULL,
        reason         text NOT NULL,
        message        text NOT NULL,
        balance_minor  bigint NOT NULL,
        next_window_at bigint,
        command_id     text,
        dry_run        boolean NOT NULL
      );
      CREATE INDEX fee_decisions_account ON fee_decisions(account_id, seq);
      CREATE TRIGGER fee_decisions_no_change BEFORE UPDATE OR DELETE ON fee_decisions
        FOR EACH ROW EXECUTE FUNCTION fee_append_only();

      CREATE TABLE fee_emergency (
        id     integer PRIMARY KEY CHECK (id = 1),
        active boolean NOT NULL,
        reason text,
        set_by text,
        since  bigint
      );
    `,
  },
  {
    version: 27,
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
    version: 28,
    name: 'workflow definitions',
    sql: `
      -- src/workflows/definitions: every deployed version of a BPMN process, as deployed. A
      -- running instance names its (key, version) and finds that XML again after a restart or
      -- a failover, so a version is never rewritten nor removed.
      CREATE TABLE workflow_definitions (
        key         text    NOT NULL,
        version     integer NOT NULL CHECK (version >= 1),
        name        text    NOT NULL,
        xml         text    NOT NULL,
        hash        text    NOT NULL,   -- SHA-256 of the XML, hex
        deployed_at bigint  NOT NULL,
        deployed_by text    NOT NULL,
        shipped     boolean NOT NULL,
        PRIMARY KEY (key, version)
      );
      CREATE FUNCTION workflow_definitions_kept() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'workflow_definitions versions are never rewritten nor removed'; END $$;
      CREATE TRIGGER workflow_definitions_no_change BEFORE UPDATE OR DELETE ON workflow_definitions
        FOR EACH ROW EXECUTE FUNCTION workflow_definitions_kept();
    `,
  },
  {
    version: 29,
    name: 'workflow instances, history and effects',
    sql: `
      -- src/workflows/runtime/postgresStore.ts. state: the engine's JSON without the definition
      -- source (stored once per version), null once the instance has ended.
      CREATE TABLE workflow_instances (
        id           text PRIMARY KEY,
        process_key  text NOT NULL,
        version      integer NOT NULL,
        status       text NOT NULL CHECK (status IN ('running','completed','failed','cancelled')),
        trigger_kind text NOT NULL CHECK (trigger_kind IN ('alarm','fee','api','dashboard')),
        trigger_ref  text,
        business_key text,
        variables    text NOT NULL,
        waiting      text NOT NULL,
        state        text,
        started_at   bigint NOT NULL,
        updated_at   bigint NOT NULL,
        ended_at     bigint,
        error        text
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
        instance_id  text NOT NULL REFERENCES workflow_instances(id) ON DELETE CASCADE,
        seq          integer NOT NULL,
        at           bigint NOT NULL,
        element_id   text NOT NULL,
        element_type text NOT NULL,
        event        text NOT NULL,
        detail       text,
        PRIMARY KEY (instance_id, seq)
      );

      -- A service task's effect by step: a step run again after a restart answers this output.
      CREATE TABLE workflow_effects (
        instance_id text NOT NULL REFERENCES workflow_instances(id) ON DELETE CASCADE,
        step_key    text NOT NULL,
        action      text NOT NULL,
        output      text NOT NULL,
        at          bigint NOT NULL,
        PRIMARY KEY (instance_id, step_key)
      );
    `,
  },
  {
    version: 30,
    name: 'work orders, their comments and history; the field role',
    sql: `
      -- src/workOrders/postgresStore.ts. Numbers and change numbers come from sequences, so they
      -- are unique across nodes; writes hold an advisory lock, so change numbers commit in order.
      CREATE SEQUENCE work_order_numbers AS bigint MINVALUE 1 START WITH 1;
      CREATE SEQUENCE work_order_changes AS bigint MINVALUE 1 START WITH 1;
      CREATE TABLE work_orders (
        id                 text PRIMARY KEY,
        number             text NOT NULL UNIQUE,
        key                text UNIQUE,          -- a workflow step's idempotency key; null for orders made by hand
        type               text NOT NULL,
        title              text NOT NULL,
        meter_id           text,
        customer           text,
        area_id            text,
        role               text,
        assignee           text,
        due_at             bigint,
        state              text NOT NULL CHECK (state IN ('open','assigned','in-progress','done','cancelled')),
        result             jsonb,
        result_text        text,
        escalations        integer NOT NULL,
        alarm_id           text,
        source_instance_id text,
        source_process_key text,
        source_element_id  text,
        created_at         bigint NOT NULL,
        updated_at         bigint NOT NULL,
        closed_at          bigint,
        change_seq         bigint NOT NULL UNIQUE
      );
      -- Lists come newest first by (created_at, id), filtered by one of these.
      CREATE INDEX work_orders_created ON work_orders (created_at, id);
      CREATE INDEX work_orders_state ON work_orders (state, created_at, id);
      CREATE INDEX work_orders_assignee ON work_orders (assignee, created_at, id);
      CREATE INDEX work_orders_area ON work_orders (area_id, created_at, id);
      CREATE INDEX work_orders_role ON work_orders (role, created_at, id);
      CREATE INDEX work_orders_type ON work_orders (type, created_at, id);
      CREATE INDEX work_orders_meter ON work_orders (meter_id, created_at, id);

      CREATE TABLE work_order_comments (
        order_id text NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
        seq      integer NOT NULL,
        at       bigint NOT NULL,
        by       text NOT NULL,
        text     text NOT NULL,
        PRIMARY KEY (order_id, seq)
      );

      CREATE TABLE work_order_events (
        order_id text NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
        seq      integer NOT NULL,
        at       bigint NOT NULL,
        by       text NOT NULL,
        event    text NOT NULL CHECK (event IN ('created','assigned','started','escalated','completed','cancelled','commented')),
        detail   text,
        PRIMARY KEY (order_id, seq)
      );

      ALTER TABLE users DROP CONSTRAINT users_role_check,
        ADD CONSTRAINT users_role_check CHECK (role IN ('viewer','operator','admin','billing','field'));
      ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check,
        ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('viewer','operator','admin','billing','field'));
    `,
  },
  {
    version: 31,
    name: 'firmware images, campaigns and their devices',
    sql: `
      -- src/firmware/postgresStore.ts; the embedded store's migration 24 on PostgreSQL.
      CREATE TABLE firmware_images (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        identifier  text NOT NULL,
        version     text NOT NULL,
        size        bigint NOT NULL,
        sha256      text NOT NULL,
        signature   text,
        bytes       bytea NOT NULL,
        uploaded_at bigint NOT NULL,
        uploaded_by text NOT NULL
      );
      CREATE INDEX firmware_images_uploaded ON firmware_images (uploaded_at DESC, id DESC);

      CREATE TABLE firmware_campaigns (
        id           text PRIMARY KEY,
        name         text NOT NULL,
        image_id     text NOT NULL REFERENCES firmware_images (id) ON DELETE RESTRICT,
        definition   jsonb NOT NULL,
        state        text NOT NULL CHECK (state IN ('draft','running','paused','completed','cancelled')),
        pause_reason text CHECK (pause_reason IN ('operator','failure-budget')),
        created_at   bigint NOT NULL,
        created_by   text NOT NULL,
        started_at   bigint,
        finished_at  bigint
      );
      CREATE INDEX firmware_campaigns_created ON firmware_campaigns (created_at DESC, id DESC);

      CREATE TABLE firmware_campaign_devices (
        campaign_id  text NOT NULL REFERENCES firmware_campaigns (id) ON DELETE CASCADE,
        meter_id     text COLLATE "C" NOT NULL,   -- byte order, as SQLite: the keyset pages agree
        terminal_id  text NOT NULL,
        state        text NOT NULL CHECK (state IN ('pending','transferring','verifying','verified','activating','done','failed','skipped')),
        blocks_held  integer NOT NULL,
        blocks_total integer NOT NULL,
        block_size   integer NOT NULL,
        initiated    boolean NOT NULL,
        reason       text,
        code         text,
        from_version text,
        to_version   text,
        attempts     integer NOT NULL,
        not_before   bigint NOT NULL,
        offer_id     text,
        updated_at   bigint NOT NULL,
        PRIMARY KEY (campaign_id, meter_id)
      );
      CREATE INDEX firmware_campaign_devices_state ON firmware_campaign_devices (campaign_id, state, meter_id);
      CREATE INDEX firmware_campaign_devices_offer ON firmware_campaign_devices (offer_id) WHERE offer_id IS NOT NULL;
    `,
  },
];

export interface MigrationOutcome {
  /** What this call applied, in order; empty when the schema was already up to date. */
  readonly applied: readonly Migration[];
  /** The highest version recorded after the call. */
  readonly version: number;
}

/** Applies the migrations not yet recorded, each in its own transaction under the advisory lock. */
export async function migratePostgres(db: PostgresDatabase, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<MigrationOutcome> {
  checkOrder(migrations);
  const applied: Migration[] = [];
  for (const m of migrations) {
    let done: boolean;
    try {
      done = await db.sql.begin((tx) => applyOne(tx, m));
    } catch (err) {
      const typed = databaseError(err, db.target);
      // Losing the connection is not the migration's fault: report it as what it is.
      if (typed.code === 'DB_QUERY_FAILED' || typed.code === 'DB_STATEMENT_TIMEOUT') throw new PostgresMigrationFailed(m.version, m.name, err);
      throw typed;
    }
    if (done) applied.push(m);
  }
  const version = await db.run(async (sql) => (await sql<{ v: number | null }[]>`SELECT max(version) AS v FROM schema_migrations`)[0]?.v ?? 0);
  return { applied, version };
}

/** True when this transaction applied `m`, false when it was already recorded. */
async function applyOne(tx: TransactionSql, m: Migration): Promise<boolean> {
  await tx.unsafe(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_MIGRATIONS})`);
  // A migration may rebuild a large table: the per-connection statement timeout is for queries, not for this.
  await tx.unsafe('SET LOCAL statement_timeout = 0');
  await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const recorded = await tx`SELECT 1 FROM schema_migrations WHERE version = ${m.version}`;
  if (recorded.length > 0) return false;
  await tx.unsafe(m.sql);
  await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
  return true;
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    const previous = migrations[i - 1];
    if (previous !== undefined && m.version <= previous.version) throw new Error(`migration versions must increase: ${m.version} follows ${previous.version}`);
  });
}
