/**
 * Migration 1: the tables and the server-side functions of the PostgreSQL store.
 *
 * Shipped migrations are never edited: a change is a new migration (its checksum is recorded).
 * The text names no schema: `migrate.ts` runs it with `SET LOCAL search_path TO <schema>, pg_temp`,
 * so the tables land in the store's schema, and every function pins that path with
 * `SET search_path FROM CURRENT`, so its unqualified names resolve to the same schema whoever calls it.
 *
 * Why functions: a commit, a claim, a delivery and a cancel request each read, check and write
 * several rows. As one server-side call each is one round trip and one implicit transaction, and
 * row locks are held only while the server runs it, never across a network round trip. Every
 * writer locks the flow row first (`FOR NO KEY UPDATE`, which does not block the foreign-key checks
 * of inserts into the child tables) and only then touches its callbacks, timers and events, so
 * writers of one flow queue up instead of deadlocking.
 *
 * Failures the caller must tell apart are raised with SQLSTATEs named after the DT codes
 * (`DT401`, `DT405`, `DT406`, `DT501`, `DT502`, `DT503`), the reason in DETAIL; `store.ts` turns
 * them into the same errors, worded the same, as the other engines.
 *
 * @module
 */

export const name = "initial";

export const sql = `
-- Times are milliseconds since the epoch as passed in by the caller (a virtual clock in tests):
-- double precision, exact for integers up to 2^53, so fractional times round-trip like elsewhere.
-- Ids are COLLATE "C": byte order, the same on every server, and the tie-break of listFlows.
-- Payloads are bytea plus a flag saying whether they were given as a string (UTF-8) or as bytes:
-- they come back in the form they were given, and a string may hold any character (text cannot
-- hold NUL).

-- One row per flow. ready_at: when the flow is next runnable (NULL: waits on callbacks only, or
-- finished); a flow is claimable when ready_at <= now and its lease is absent or expired.
CREATE TABLE flows (
  id               text COLLATE "C" PRIMARY KEY,
  status           text NOT NULL
                   CHECK (status IN ('running', 'suspended', 'succeeded', 'faulted', 'canceled')),
  revision         bigint NOT NULL,
  root_function_id text NOT NULL,
  snapshot         bytea,
  snapshot_text    boolean NOT NULL DEFAULT false,
  result           bytea,
  result_text      boolean NOT NULL DEFAULT false,
  error            bytea,
  error_text       boolean NOT NULL DEFAULT false,
  last_error       json,
  metadata         json,
  created_at       double precision NOT NULL,
  updated_at       double precision NOT NULL,
  finished_at      double precision,
  expires_at       double precision,  -- retention deadline of a finished flow
  ready_at         double precision,
  defer_until      double precision,
  lease_token      text COLLATE "C",
  lease_owner      text,
  lease_expires_at double precision,
  attempts         integer NOT NULL DEFAULT 0
);
-- claim: walks ready flows oldest first, skipping the (few) leased ones; nextWakeAt.
CREATE INDEX flows_ready ON flows (ready_at, id) WHERE ready_at IS NOT NULL;
-- nextWakeAt: leases that must run out before their flow can be claimed again.
CREATE INDEX flows_lease ON flows (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
-- sweep
CREATE INDEX flows_expires ON flows (expires_at) WHERE expires_at IS NOT NULL;
-- listFlows, with and without a status filter
CREATE INDEX flows_created ON flows (created_at, id);
CREATE INDEX flows_status_created ON flows (status, created_at, id);

-- Callbacks stay after delivery ('delivered') until their flow is swept, so that a second delivery
-- is told "already resumed" rather than "unknown". Child rows cascade with their flow: no orphans.
CREATE TABLE callbacks (
  id           text COLLATE "C" PRIMARY KEY,
  flow_id      text COLLATE "C" NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  state        text NOT NULL CHECK (state IN ('waiting', 'delivered', 'canceled')),
  created_at   double precision NOT NULL,
  delivered_at double precision
);
CREATE INDEX callbacks_flow ON callbacks (flow_id);

-- Timers not yet fired. A due timer becomes an event when its flow is claimed (or checkpoints).
CREATE TABLE timers (
  flow_id text COLLATE "C" NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  id      text COLLATE "C" NOT NULL,
  due_at  double precision NOT NULL,
  PRIMARY KEY (flow_id, id)
);

-- Pending events. seq is the event id: never reused.
CREATE TABLE events (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flow_id      text COLLATE "C" NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('resume', 'fail', 'timer', 'cancel')),
  wait_id      text COLLATE "C",
  payload      bytea,
  payload_text boolean NOT NULL DEFAULT false,
  at           double precision NOT NULL
);
CREATE INDEX events_flow ON events (flow_id, at, seq);

-- A time as the decimal string that JavaScript's String(n) gives for it (integers without exponent).
CREATE FUNCTION ms_text(p double precision) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
  SELECT CASE WHEN p = trunc(p) AND abs(p) < 9007199254740992 THEN p::bigint::text ELSE p::text END
$fn$;

-- Notifications: every payload is '<origin>:<message>'; the origin (the publishing store
-- instance, which told its own listeners already) lets listeners skip their own messages. Channel
-- names are computed by the client (a hash: PostgreSQL channel names stop at 63 bytes).

-- The commit of a run: fencing (lease, then revision), consumed events, removed and added waits,
-- the new row, the wake-up, and the announcements, all in the caller's single statement.
CREATE FUNCTION commit_flow(
  p_id text, p_revision bigint, p_token text, p_now double precision,
  p_status text, p_finished boolean,
  p_set_snapshot boolean, p_snapshot bytea, p_snapshot_text boolean,
  p_set_result boolean, p_result bytea, p_result_text boolean,
  p_set_error boolean, p_error bytea, p_error_text boolean,
  p_last_error json, p_set_metadata boolean, p_metadata json,
  p_consumed bigint[], p_remove text[], p_callbacks text[],
  p_timer_ids text[], p_timer_dues double precision[],
  p_runnable_at double precision, p_defer_until double precision,
  p_keep_lease_ms double precision, p_expires_at double precision,
  p_origin text, p_flow_channel text, p_work_channel text,
  OUT o_revision bigint, OUT o_ready_at double precision,
  OUT o_lease_owner text, OUT o_lease_expires_at double precision,
  OUT ev_seq bigint[], OUT ev_kind text[], OUT ev_wait text[],
  OUT ev_payload bytea[], OUT ev_text boolean[], OUT ev_at double precision[])
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$
DECLARE
  v_revision  bigint;
  v_token     text;
  v_owner     text;
  v_lease_exp double precision;
  v_done      bigint[];
  v_added     text[];
  v_taken     text;
  v_timer     double precision;
  v_event     double precision;
BEGIN
  SELECT f.revision, f.lease_token, f.lease_owner, f.lease_expires_at
    INTO v_revision, v_token, v_owner, v_lease_exp
    FROM flows f WHERE f.id = p_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'no such flow', DETAIL = 'gone';
  ELSIF v_token IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'not leased', DETAIL = 'none';
  ELSIF v_token <> p_token THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'lease held by another', DETAIL = 'stolen';
  ELSIF v_lease_exp <= p_now THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'lease expired', DETAIL = 'expired';
  ELSIF v_revision <> p_revision THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'stale revision', DETAIL = 'revision',
      HINT = v_revision::text;
  END IF;

  -- Any exception below rolls the whole call back: all or nothing.
  IF cardinality(p_consumed) > 0 THEN
    WITH d AS (DELETE FROM events e WHERE e.flow_id = p_id AND e.seq = ANY (p_consumed) RETURNING e.seq)
    SELECT coalesce(array_agg(d.seq), '{}') INTO v_done FROM d;
    IF cardinality(v_done) <> cardinality(p_consumed) THEN
      FOR i IN 1 .. cardinality(p_consumed) LOOP
        IF NOT (p_consumed[i] = ANY (v_done)) OR p_consumed[i] = ANY (p_consumed[1:i - 1]) THEN
          RAISE EXCEPTION USING ERRCODE = 'DT405', MESSAGE = 'not a pending event', DETAIL = i::text;
        END IF;
      END LOOP;
    END IF;
  END IF;

  IF cardinality(p_remove) > 0 THEN
    DELETE FROM timers t WHERE t.flow_id = p_id AND t.id = ANY (p_remove);
    DELETE FROM events e WHERE e.flow_id = p_id AND e.wait_id = ANY (p_remove);
    UPDATE callbacks c SET state = 'canceled'
      WHERE c.id = ANY (p_remove) AND c.flow_id = p_id AND c.state = 'waiting';
  END IF;

  IF cardinality(p_callbacks) > 0 THEN
    WITH ins AS (
      INSERT INTO callbacks (id, flow_id, state, created_at)
        SELECT u.id, p_id, 'waiting', p_now FROM unnest(p_callbacks) AS u(id)
        ON CONFLICT (id) DO NOTHING
        RETURNING callbacks.id)
    SELECT coalesce(array_agg(ins.id), '{}') INTO v_added FROM ins;
    IF cardinality(v_added) <> cardinality(p_callbacks) THEN
      SELECT u.id INTO v_taken FROM unnest(p_callbacks) WITH ORDINALITY AS u(id, n)
        WHERE NOT (u.id = ANY (v_added)) ORDER BY u.n LIMIT 1;
      RAISE EXCEPTION USING ERRCODE = 'DT406', MESSAGE = 'callback id in use', DETAIL = v_taken;
    END IF;
  END IF;

  IF cardinality(p_timer_ids) > 0 THEN
    WITH ins AS (
      INSERT INTO timers (flow_id, id, due_at)
        SELECT p_id, u.id, u.due_at FROM unnest(p_timer_ids, p_timer_dues) AS u(id, due_at)
        ON CONFLICT (flow_id, id) DO NOTHING
        RETURNING timers.id)
    SELECT coalesce(array_agg(ins.id), '{}') INTO v_added FROM ins;
    IF cardinality(v_added) <> cardinality(p_timer_ids) THEN
      SELECT u.id INTO v_taken FROM unnest(p_timer_ids) WITH ORDINALITY AS u(id, n)
        WHERE NOT (u.id = ANY (v_added)) ORDER BY u.n LIMIT 1;
      RAISE EXCEPTION USING ERRCODE = 'DT406', MESSAGE = 'timer id in use', DETAIL = v_taken;
    END IF;
  END IF;

  IF p_finished THEN
    UPDATE callbacks c SET state = 'canceled' WHERE c.flow_id = p_id AND c.state = 'waiting';
    DELETE FROM timers t WHERE t.flow_id = p_id;
    DELETE FROM events e WHERE e.flow_id = p_id;
  ELSE
    SELECT min(t.due_at) INTO v_timer FROM timers t WHERE t.flow_id = p_id;
    SELECT min(e.at) INTO v_event FROM events e WHERE e.flow_id = p_id;
    -- readyAtAfterCommit (src/store/shared/schedule.ts); LEAST and GREATEST ignore NULLs.
    o_ready_at := least(p_runnable_at, v_timer, v_event);
    IF o_ready_at IS NOT NULL AND p_defer_until IS NOT NULL THEN
      o_ready_at := greatest(o_ready_at, p_defer_until);
    END IF;
    IF p_keep_lease_ms IS NOT NULL THEN
      o_lease_owner := v_owner;
      o_lease_expires_at := p_now + p_keep_lease_ms;
    END IF;
  END IF;

  o_revision := v_revision + 1;
  UPDATE flows f SET
    status = p_status, revision = o_revision, updated_at = p_now, attempts = 0,
    last_error = p_last_error,
    snapshot = CASE WHEN p_set_snapshot THEN p_snapshot ELSE f.snapshot END,
    snapshot_text = CASE WHEN p_set_snapshot THEN p_snapshot_text ELSE f.snapshot_text END,
    result = CASE WHEN p_set_result THEN p_result ELSE f.result END,
    result_text = CASE WHEN p_set_result THEN p_result_text ELSE f.result_text END,
    error = CASE WHEN p_set_error THEN p_error ELSE f.error END,
    error_text = CASE WHEN p_set_error THEN p_error_text ELSE f.error_text END,
    metadata = CASE WHEN p_set_metadata THEN p_metadata ELSE f.metadata END,
    ready_at = o_ready_at,
    defer_until = CASE WHEN p_finished THEN NULL ELSE p_defer_until END,
    finished_at = CASE WHEN p_finished THEN p_now END,
    expires_at = CASE WHEN p_finished THEN p_expires_at END,
    lease_token = CASE WHEN o_lease_expires_at IS NULL THEN NULL ELSE v_token END,
    lease_owner = o_lease_owner,
    lease_expires_at = o_lease_expires_at
  WHERE f.id = p_id;

  IF p_finished THEN
    PERFORM pg_notify(p_flow_channel, p_origin || ':' || p_status);
  ELSIF o_lease_expires_at IS NOT NULL THEN
    -- A checkpoint: hand back what arrived meanwhile. The fast path (nothing pending, no timer
    -- due) reads nothing more.
    IF v_event IS NOT NULL OR v_timer <= p_now THEN
      IF v_timer <= p_now THEN
        WITH fired AS (
          DELETE FROM timers t WHERE t.flow_id = p_id AND t.due_at <= p_now RETURNING t.id, t.due_at)
        INSERT INTO events (flow_id, kind, wait_id, at)
          SELECT p_id, 'timer', fired.id, fired.due_at FROM fired ORDER BY fired.due_at, fired.id;
      END IF;
      SELECT array_agg(e.seq ORDER BY e.at, e.seq), array_agg(e.kind ORDER BY e.at, e.seq),
             array_agg(e.wait_id ORDER BY e.at, e.seq), array_agg(e.payload ORDER BY e.at, e.seq),
             array_agg(e.payload_text ORDER BY e.at, e.seq), array_agg(e.at ORDER BY e.at, e.seq)
        INTO ev_seq, ev_kind, ev_wait, ev_payload, ev_text, ev_at
        FROM events e WHERE e.flow_id = p_id;
    END IF;
  ELSIF o_ready_at IS NOT NULL THEN
    PERFORM pg_notify(p_work_channel, p_origin || ':' || ms_text(o_ready_at));
  END IF;
END
$fn$;

-- Leases up to p_limit runnable flows, oldest ready first. SKIP LOCKED: concurrent claimers pass
-- over rows another claimer (or a commit, delivery, cancel) holds instead of waiting, and the
-- re-check after locking keeps a flow leased meanwhile from being granted twice. Due timers of the
-- claimed flows become events; each flow comes back with all its pending events.
CREATE FUNCTION claim_flows(
  p_owner text, p_lease_ms double precision, p_limit integer, p_now double precision)
RETURNS TABLE (
  o_id text, o_revision bigint, o_status text, o_root_function_id text,
  o_snapshot bytea, o_snapshot_text boolean, o_metadata json,
  o_token text, o_attempts integer,
  ev_seq bigint[], ev_kind text[], ev_wait text[],
  ev_payload bytea[], ev_text boolean[], ev_at double precision[])
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$
DECLARE
  v_ids text[];
BEGIN
  WITH picked AS (
    SELECT r.id, row_number() OVER (ORDER BY r.ready_at, r.id) AS n
    FROM (
      SELECT f.id, f.ready_at FROM flows f
      WHERE f.ready_at <= p_now AND (f.lease_expires_at IS NULL OR f.lease_expires_at <= p_now)
      ORDER BY f.ready_at, f.id
      LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ) r
  ), leased AS (
    UPDATE flows f SET
      lease_token = replace(gen_random_uuid()::text, '-', ''),
      lease_owner = p_owner,
      lease_expires_at = p_now + p_lease_ms,
      attempts = f.attempts + 1
    FROM picked WHERE f.id = picked.id
    RETURNING f.id, picked.n)
  SELECT array_agg(leased.id ORDER BY leased.n) INTO v_ids FROM leased;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;

  WITH fired AS (
    DELETE FROM timers t WHERE t.flow_id = ANY (v_ids) AND t.due_at <= p_now
    RETURNING t.flow_id, t.id, t.due_at)
  INSERT INTO events (flow_id, kind, wait_id, at)
    SELECT fired.flow_id, 'timer', fired.id, fired.due_at FROM fired
    ORDER BY fired.flow_id, fired.due_at, fired.id;

  RETURN QUERY
    SELECT f.id, f.revision, f.status, f.root_function_id, f.snapshot, f.snapshot_text, f.metadata,
           f.lease_token, f.attempts,
           ev.seqs, ev.kinds, ev.waits, ev.payloads, ev.texts, ev.ats
    FROM unnest(v_ids) WITH ORDINALITY AS u(id, n)
    JOIN flows f ON f.id = u.id
    LEFT JOIN LATERAL (
      SELECT array_agg(e.seq ORDER BY e.at, e.seq) AS seqs, array_agg(e.kind ORDER BY e.at, e.seq) AS kinds,
             array_agg(e.wait_id ORDER BY e.at, e.seq) AS waits,
             array_agg(e.payload ORDER BY e.at, e.seq) AS payloads,
             array_agg(e.payload_text ORDER BY e.at, e.seq) AS texts,
             array_agg(e.at ORDER BY e.at, e.seq) AS ats
      FROM events e WHERE e.flow_id = f.id
    ) ev ON true
    ORDER BY u.n;
END
$fn$;

-- Adds an event to a flow that has just been locked, and makes it runnable (readyAtAfterEvent in
-- src/store/shared/schedule.ts). Announces work when no live lease will see the event at its commit.
CREATE FUNCTION add_event(
  p_flow text, p_kind text, p_wait text, p_payload bytea, p_payload_text boolean,
  p_now double precision, p_ready double precision, p_defer double precision,
  p_lease_exp double precision, p_origin text, p_work_channel text,
  OUT o_event_id bigint, OUT o_ready_at double precision, OUT o_notified boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$
BEGIN
  INSERT INTO events (flow_id, kind, wait_id, payload, payload_text, at)
    VALUES (p_flow, p_kind, p_wait, p_payload, p_payload_text, p_now)
    RETURNING seq INTO o_event_id;
  o_ready_at := CASE WHEN p_defer IS NULL THEN p_now ELSE greatest(p_now, p_defer) END;
  IF p_ready IS NOT NULL AND p_ready < o_ready_at THEN
    o_ready_at := p_ready;
  END IF;
  IF o_ready_at IS DISTINCT FROM p_ready THEN
    UPDATE flows SET ready_at = o_ready_at WHERE id = p_flow;
  END IF;
  o_notified := p_lease_exp IS NULL OR p_lease_exp <= p_now;
  IF o_notified THEN
    PERFORM pg_notify(p_work_channel, p_origin || ':' || ms_text(o_ready_at));
  END IF;
END
$fn$;

-- One delivery per callback. The flow row is locked before the callback row (as commits and sweeps
-- do), so concurrent deliveries of one callback queue on the flow and the second sees 'delivered'.
CREATE FUNCTION deliver_event(
  p_callback text, p_kind text, p_payload bytea, p_payload_text boolean, p_now double precision,
  p_origin text, p_work_channel text,
  OUT o_flow_id text, OUT o_event_id bigint, OUT o_ready_at double precision, OUT o_notified boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$
DECLARE
  v_state     text;
  v_ready     double precision;
  v_defer     double precision;
  v_lease_exp double precision;
BEGIN
  SELECT c.flow_id INTO o_flow_id FROM callbacks c WHERE c.id = p_callback;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DT502', MESSAGE = 'no such callback', DETAIL = 'unknown';
  END IF;
  SELECT f.ready_at, f.defer_until, f.lease_expires_at INTO v_ready, v_defer, v_lease_exp
    FROM flows f WHERE f.id = o_flow_id FOR NO KEY UPDATE;
  SELECT c.state INTO v_state FROM callbacks c WHERE c.id = p_callback FOR UPDATE;
  IF NOT FOUND THEN
    -- swept between the two reads
    RAISE EXCEPTION USING ERRCODE = 'DT502', MESSAGE = 'no such callback', DETAIL = 'unknown';
  ELSIF v_state = 'delivered' THEN
    RAISE EXCEPTION USING ERRCODE = 'DT503', MESSAGE = 'already delivered';
  ELSIF v_state = 'canceled' THEN
    RAISE EXCEPTION USING ERRCODE = 'DT502', MESSAGE = 'callback no longer awaited', DETAIL = 'canceled';
  END IF;
  UPDATE callbacks SET state = 'delivered', delivered_at = p_now WHERE id = p_callback;
  SELECT a.o_event_id, a.o_ready_at, a.o_notified INTO o_event_id, o_ready_at, o_notified
    FROM add_event(o_flow_id, p_kind, p_callback, p_payload, p_payload_text, p_now,
                   v_ready, v_defer, v_lease_exp, p_origin, p_work_channel) a;
END
$fn$;

-- At most one pending cancel event per flow.
CREATE FUNCTION request_cancel(
  p_flow text, p_payload bytea, p_payload_text boolean, p_now double precision,
  p_origin text, p_work_channel text, p_flow_channel text,
  OUT o_outcome text, OUT o_event_id bigint, OUT o_ready_at double precision, OUT o_notified boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$
DECLARE
  v_status    text;
  v_ready     double precision;
  v_defer     double precision;
  v_lease_exp double precision;
BEGIN
  SELECT f.status, f.ready_at, f.defer_until, f.lease_expires_at
    INTO v_status, v_ready, v_defer, v_lease_exp
    FROM flows f WHERE f.id = p_flow FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DT501', MESSAGE = 'no such flow';
  END IF;
  IF v_status IN ('succeeded', 'faulted', 'canceled') THEN
    o_outcome := 'finished';
    RETURN;
  END IF;
  SELECT e.seq INTO o_event_id FROM events e
    WHERE e.flow_id = p_flow AND e.kind = 'cancel' ORDER BY e.seq LIMIT 1;
  IF FOUND THEN
    o_outcome := 'pending';
    RETURN;
  END IF;
  SELECT a.o_event_id, a.o_ready_at, a.o_notified INTO o_event_id, o_ready_at, o_notified
    FROM add_event(p_flow, 'cancel', NULL, p_payload, p_payload_text, p_now,
                   v_ready, v_defer, v_lease_exp, p_origin, p_work_channel) a;
  PERFORM pg_notify(p_flow_channel, p_origin || ':cancel-requested');
  o_outcome := 'requested';
END
$fn$;
`;
