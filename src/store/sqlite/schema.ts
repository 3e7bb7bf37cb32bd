// The text of schema.sql, embedded so the compiled package needs no .sql file at run time.
// Edit schema.sql, then copy it here verbatim: test/store/sqlite.test.ts fails while they differ.

/** Version 1 of the schema (PRAGMA user_version = 1). */
export const SCHEMA_V1 = `-- dtasks SQLite schema, version 1 (PRAGMA user_version = 1).
--
-- Keep src/store/sqlite/schema.ts identical to this file (a test compares them): the published
-- package only ships compiled JavaScript, so the store embeds this text instead of reading it.
--
-- Times are milliseconds since the epoch, passed in by the caller (a virtual clock in tests),
-- except notifications.created_at, which is the real clock (pub/sub is a transport, not state).
-- Payload columns are declared BLOB (no affinity): a string is stored as TEXT and read back as a
-- string, bytes as a BLOB and read back as bytes.

-- One row per flow. ready_at is when the flow is next runnable (NULL: waits on callbacks only,
-- or finished); a flow is claimable when ready_at <= now and its lease is absent or expired.
CREATE TABLE flows (
  id               TEXT    PRIMARY KEY,
  status           TEXT    NOT NULL,
  revision         INTEGER NOT NULL,
  root_function_id TEXT    NOT NULL,
  snapshot         BLOB,
  result           BLOB,
  error            BLOB,
  last_error       TEXT,     -- JSON
  metadata         TEXT,     -- JSON
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  expires_at       INTEGER,  -- retention deadline of a finished flow
  ready_at         INTEGER,
  defer_until      INTEGER,
  lease_token      TEXT,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  attempts         INTEGER NOT NULL DEFAULT 0
);
-- claim: oldest ready first; nextWakeAt: earliest ready.
CREATE INDEX flows_ready ON flows (ready_at, id) WHERE ready_at IS NOT NULL;
-- nextWakeAt: leases that must run out before a flow can be claimed again.
CREATE INDEX flows_lease ON flows (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
-- sweep
CREATE INDEX flows_expires ON flows (expires_at) WHERE expires_at IS NOT NULL;
-- listFlows, with and without a status filter
CREATE INDEX flows_created ON flows (created_at, id);
CREATE INDEX flows_status_created ON flows (status, created_at, id);

-- Callbacks are kept after delivery (state 'delivered') until their flow is swept, so that a second
-- delivery is told "already resumed" rather than "unknown".
CREATE TABLE callbacks (
  id           TEXT    PRIMARY KEY,
  flow_id      TEXT    NOT NULL,
  state        TEXT    NOT NULL,  -- waiting | delivered | canceled
  created_at   INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX callbacks_flow ON callbacks (flow_id);

-- Timers not yet fired. A due timer becomes an event when its flow is claimed.
CREATE TABLE timers (
  flow_id TEXT    NOT NULL,
  id      TEXT    NOT NULL,
  due_at  INTEGER NOT NULL,
  PRIMARY KEY (flow_id, id)
) WITHOUT ROWID;

-- Pending events. AUTOINCREMENT: an event id is never reused, even after deletes.
CREATE TABLE events (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  flow_id TEXT    NOT NULL,
  kind    TEXT    NOT NULL,  -- resume | fail | timer | cancel
  wait_id TEXT,
  payload BLOB,
  at      INTEGER NOT NULL
);
CREATE INDEX events_flow ON events (flow_id, at, seq);

-- Pub/sub across processes: other connections poll rows with seq above the last they saw (cheaply:
-- only when PRAGMA data_version says another connection wrote). AUTOINCREMENT keeps seq growing
-- after pruning. origin = the publishing store instance, which has already told its own listeners.
CREATE TABLE notifications (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  channel    TEXT    NOT NULL,
  message    TEXT    NOT NULL,
  origin     TEXT    NOT NULL,
  flow_id    TEXT,              -- set for messages about a flow: deleted with it
  created_at INTEGER NOT NULL
);
CREATE INDEX notifications_created ON notifications (created_at);
CREATE INDEX notifications_flow ON notifications (flow_id) WHERE flow_id IS NOT NULL;
`;
