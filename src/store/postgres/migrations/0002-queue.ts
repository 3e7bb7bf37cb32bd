/**
 * Migration 2: the scheduling state of a flow moves out of the wide `flows` row (which holds the
 * snapshot) into a narrow row of its own in `queue`, and the store's functions are rewritten for it.
 *
 * Why: a checkpoint changes when the flow is next runnable (`ready_at`) and when its lease runs out
 * (`lease_expires_at`). Both were indexed columns of `flows`, so every checkpoint was a non-HOT
 * update of the wide row, with a new entry in each of its six indexes. Now a checkpoint updates
 * `flows` without touching an indexed column (a HOT update: no index entry; the table keeps free
 * room on each page for it, fillfactor 50) and updates the narrow `queue` row, whose indexes are
 * the primary key and two small partial ones.
 *
 * The queue row also counts the flow's timers and pending events and keeps the earliest of each,
 * maintained by every function that adds or removes them. The next wake-up after a commit is then
 * read from the row instead of with `min()` over the flow's timers and events, whose index ranges
 * hold the dead entries of every timer and event the flow ever had until vacuum removes them (a
 * flow that sleeps 10,000 times used to scan 10,000 dead entries per commit near the end). A
 * commit that adds, removes and consumes nothing (every checkpoint) reads nothing but its two rows,
 * and a checkpoint that keeps its lease usually leaves the queue row as it is (see commit_flow).
 * The functions use index scans only. Not bitmap scans: unlike plain index scans, they do not mark
 * the dead index entries they meet, so that later scans skip them. Not sequential scans either: a
 * plan is kept for the connection's lifetime, and a table of a few busy flows is small when it is
 * planned but holds many dead row versions later (until vacuum), which a sequential scan reads
 * every time.
 *
 * Only unfinished flows have a queue row: a flow that finishes deletes it (its timers and events
 * go with it, `ON DELETE CASCADE`), so the queue holds the live flows only. Callbacks keep
 * referencing `flows`: they outlive the queue row (a delivered callback says "already resumed"
 * until the flow is swept).
 *
 * Locking: every writer of an unfinished flow locks its queue row first (`FOR NO KEY UPDATE`, or
 * the UPDATE itself), and only then its flow row, callbacks, timers and events.
 *
 * Upgrading: the migration copies the scheduling columns of every unfinished flow into `queue`,
 * with its timer and event counts, then drops them from `flows`; nothing of a flow is lost. Stop
 * the workers of the previous version before it runs: their statements name the dropped columns.
 *
 * @module
 */

export const name = "queue";

export const sql = `
-- One row per unfinished flow. A flow is claimable when ready_at <= now and it is unleased or its
-- lease expired. timer_count/next_timer_at and event_count/next_event_at: how many timers and
-- pending events the flow has, and the earliest due time and arrival time among them (NULL when
-- there are none).
CREATE TABLE queue (
  id               text COLLATE "C" PRIMARY KEY REFERENCES flows (id) ON DELETE CASCADE,
  ready_at         double precision,
  defer_until      double precision,
  lease_token      text COLLATE "C",
  lease_owner      text,
  lease_expires_at double precision,
  attempts         integer NOT NULL DEFAULT 0,
  timer_count      integer NOT NULL DEFAULT 0,
  next_timer_at    double precision,
  event_count      integer NOT NULL DEFAULT 0,
  next_event_at    double precision
) WITH (fillfactor = 70);

INSERT INTO queue (id, ready_at, defer_until, lease_token, lease_owner, lease_expires_at, attempts,
                   timer_count, next_timer_at, event_count, next_event_at)
  SELECT f.id, f.ready_at, f.defer_until, f.lease_token, f.lease_owner, f.lease_expires_at, f.attempts,
         coalesce(t.n, 0), t.first, coalesce(e.n, 0), e.first
  FROM flows f
  LEFT JOIN (SELECT flow_id, count(*) AS n, min(due_at) AS first FROM timers GROUP BY flow_id) t
    ON t.flow_id = f.id
  LEFT JOIN (SELECT flow_id, count(*) AS n, min(at) AS first FROM events GROUP BY flow_id) e
    ON e.flow_id = f.id
  WHERE f.status NOT IN ('succeeded', 'faulted', 'canceled');

-- A finished flow has no timers and no events (its last commit deleted them): nothing to keep.
DELETE FROM timers t WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.id = t.flow_id);
DELETE FROM events e WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.id = e.flow_id);
-- Timers and events belong to the queue row: the foreign-key check of an insert then locks the
-- row the writer holds already, not the wide flow row.
ALTER TABLE timers DROP CONSTRAINT timers_flow_id_fkey,
  ADD CONSTRAINT timers_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES queue (id) ON DELETE CASCADE;
ALTER TABLE events DROP CONSTRAINT events_flow_id_fkey,
  ADD CONSTRAINT events_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES queue (id) ON DELETE CASCADE;

DROP INDEX flows_ready;
DROP INDEX flows_lease;
ALTER TABLE flows DROP COLUMN ready_at, DROP COLUMN defer_until, DROP COLUMN lease_token,
  DROP COLUMN lease_owner, DROP COLUMN lease_expires_at, DROP COLUMN attempts;
-- Room on each page for a new version of its rows: checkpoints are HOT updates.
ALTER TABLE flows SET (fillfactor = 50);

-- claim and nextWakeAt: unleased ready flows, oldest first. A leased flow is not in it, so a
-- checkpoint (which moves ready_at) adds no entry here.
CREATE INDEX queue_ready ON queue (ready_at, id) WHERE ready_at IS NOT NULL AND lease_token IS NULL;
-- claim and nextWakeAt: leases that run out (crash recovery).
CREATE INDEX queue_lease ON queue (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

-- readyAtAfterCommit (src/store/shared/schedule.ts): the earliest of the extra wake-up, the next
-- timer and the oldest event, no earlier than the deferral. LEAST and GREATEST ignore NULLs.
CREATE FUNCTION ready_after(
  p_runnable_at double precision, p_timer double precision, p_event double precision,
  p_defer_until double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
  SELECT CASE WHEN least(p_runnable_at, p_timer, p_event) IS NULL OR p_defer_until IS NULL
    THEN least(p_runnable_at, p_timer, p_event)
    ELSE greatest(least(p_runnable_at, p_timer, p_event), p_defer_until) END
$fn$;

-- A checkpoint's hand-back: the flow's due timers become events (the queue row's counts follow),
-- and its pending events are returned in order. The caller holds the queue row.
CREATE FUNCTION take_events(p_id text, p_now double precision,
  OUT ev_seq bigint[], OUT ev_kind text[], OUT ev_wait text[],
  OUT ev_payload bytea[], OUT ev_text boolean[], OUT ev_at double precision[])
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_bitmapscan = off SET enable_seqscan = off
AS $fn$
DECLARE
  v_n     bigint;
  v_first double precision;
BEGIN
  WITH fired AS (
    DELETE FROM timers t WHERE t.flow_id = p_id AND t.due_at <= p_now RETURNING t.id, t.due_at),
  ins AS (
    INSERT INTO events (flow_id, kind, wait_id, at)
      SELECT p_id, 'timer', fired.id, fired.due_at FROM fired ORDER BY fired.due_at, fired.id)
  SELECT count(*), min(fired.due_at) INTO v_n, v_first FROM fired;
  IF v_n > 0 THEN
    UPDATE queue q SET
      timer_count = q.timer_count - v_n,
      next_timer_at = CASE WHEN q.timer_count > v_n
        THEN (SELECT min(t.due_at) FROM timers t WHERE t.flow_id = p_id) END,
      event_count = q.event_count + v_n,
      next_event_at = least(q.next_event_at, v_first)
    WHERE q.id = p_id;
  END IF;
  SELECT array_agg(e.seq ORDER BY e.at, e.seq), array_agg(e.kind ORDER BY e.at, e.seq),
         array_agg(e.wait_id ORDER BY e.at, e.seq), array_agg(e.payload ORDER BY e.at, e.seq),
         array_agg(e.payload_text ORDER BY e.at, e.seq), array_agg(e.at ORDER BY e.at, e.seq)
    INTO ev_seq, ev_kind, ev_wait, ev_payload, ev_text, ev_at
    FROM events e WHERE e.flow_id = p_id;
END
$fn$;

-- nextWakeAt: the earliest time a claim may return something. The earliest ready unleased flow
-- (the first entry of queue_ready), or the earliest time a leased flow can be claimed again.
CREATE FUNCTION next_wake_at() RETURNS double precision
LANGUAGE sql STABLE SET search_path FROM CURRENT SET enable_bitmapscan = off SET enable_seqscan = off
AS $fn$
  SELECT least(
    (SELECT q.ready_at FROM queue q WHERE q.ready_at IS NOT NULL AND q.lease_token IS NULL
      ORDER BY q.ready_at LIMIT 1),
    (SELECT min(greatest(q.ready_at, q.lease_expires_at)) FROM queue q
      WHERE q.lease_expires_at IS NOT NULL AND q.ready_at IS NOT NULL))
$fn$;

-- The commit of a run: fencing (lease, then revision), consumed events, removed and added waits,
-- the new rows, the wake-up, and the announcements, all in the caller's single statement.
--
-- A checkpoint that keeps the lease follows keptReadyAt and keptLeaseExpiry
-- (src/store/shared/schedule.ts): a flow runnable since ready_at stays so, and the lease is renewed
-- only once less than nine tenths of keepLeaseMs is left. The queue row is then left as it is (it is only
-- locked), and the flow row gets a HOT update: no index entry at all. A commit that adds, removes
-- and consumes nothing reads no timer and no event: the queue row knows the earliest of each.
CREATE OR REPLACE FUNCTION commit_flow(
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
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_bitmapscan = off SET enable_seqscan = off
AS $fn$
DECLARE
  q           queue%ROWTYPE;
  v_revision  bigint;
  v_plain     boolean := cardinality(p_consumed) = 0 AND cardinality(p_remove) = 0
                         AND cardinality(p_callbacks) = 0 AND cardinality(p_timer_ids) = 0;
  v_timer_gone boolean := false;
  v_event_gone boolean := false;
  v_n         integer;
  v_done      bigint[];
  v_added     text[];
  v_taken     text;
BEGIN
  SELECT * INTO q FROM queue WHERE id = p_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    -- No queue row: the flow finished (so it is not leased), or it does not exist.
    PERFORM 1 FROM flows f WHERE f.id = p_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'no such flow', DETAIL = 'gone';
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'not leased', DETAIL = 'none';
  ELSIF q.lease_token IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'not leased', DETAIL = 'none';
  ELSIF q.lease_token <> p_token THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'lease held by another', DETAIL = 'stolen';
  ELSIF q.lease_expires_at <= p_now THEN
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'lease expired', DETAIL = 'expired';
  END IF;
  o_revision := p_revision + 1;

  IF NOT v_plain THEN
    -- The revision before any other check: every writer of the flow row holds the queue row first,
    -- so it stays as read here.
    SELECT f.revision INTO v_revision FROM flows f WHERE f.id = p_id;
    IF v_revision <> p_revision THEN
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
      q.event_count := q.event_count - cardinality(v_done);
      v_event_gone := true;
    END IF;

    IF cardinality(p_remove) > 0 THEN
      IF q.timer_count > 0 THEN
        DELETE FROM timers t WHERE t.flow_id = p_id AND t.id = ANY (p_remove);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        q.timer_count := q.timer_count - v_n;
        v_timer_gone := v_n > 0;
      END IF;
      IF q.event_count > 0 THEN
        DELETE FROM events e WHERE e.flow_id = p_id AND e.wait_id = ANY (p_remove);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        q.event_count := q.event_count - v_n;
        v_event_gone := v_event_gone OR v_n > 0;
      END IF;
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
      q.timer_count := q.timer_count + cardinality(p_timer_ids);
      q.next_timer_at := least(q.next_timer_at, (SELECT min(u.due_at) FROM unnest(p_timer_dues) AS u(due_at)));
    END IF;

    -- The earliest timer and event, read again only when one that may have been the earliest went.
    IF q.timer_count = 0 THEN
      q.next_timer_at := NULL;
    ELSIF v_timer_gone THEN
      SELECT t.due_at INTO q.next_timer_at FROM timers t WHERE t.flow_id = p_id ORDER BY t.due_at LIMIT 1;
    END IF;
    IF q.event_count = 0 THEN
      q.next_event_at := NULL;
    ELSIF v_event_gone THEN
      SELECT e.at INTO q.next_event_at FROM events e WHERE e.flow_id = p_id ORDER BY e.at LIMIT 1;
    END IF;
  END IF;

  UPDATE flows f SET
    status = p_status, revision = o_revision, updated_at = p_now, last_error = p_last_error,
    snapshot = CASE WHEN p_set_snapshot THEN p_snapshot ELSE f.snapshot END,
    snapshot_text = CASE WHEN p_set_snapshot THEN p_snapshot_text ELSE f.snapshot_text END,
    result = CASE WHEN p_set_result THEN p_result ELSE f.result END,
    result_text = CASE WHEN p_set_result THEN p_result_text ELSE f.result_text END,
    error = CASE WHEN p_set_error THEN p_error ELSE f.error END,
    error_text = CASE WHEN p_set_error THEN p_error_text ELSE f.error_text END,
    metadata = CASE WHEN p_set_metadata THEN p_metadata ELSE f.metadata END,
    finished_at = CASE WHEN p_finished THEN p_now END,
    expires_at = CASE WHEN p_finished THEN p_expires_at END
  WHERE f.id = p_id AND f.revision = p_revision;
  IF NOT FOUND THEN
    SELECT f.revision INTO v_revision FROM flows f WHERE f.id = p_id;
    RAISE EXCEPTION USING ERRCODE = 'DT401', MESSAGE = 'stale revision', DETAIL = 'revision',
      HINT = v_revision::text;
  END IF;

  IF p_finished THEN
    UPDATE callbacks c SET state = 'canceled' WHERE c.flow_id = p_id AND c.state = 'waiting';
    -- Its timers and pending events go with it (ON DELETE CASCADE).
    DELETE FROM queue WHERE id = p_id;
    PERFORM pg_notify(p_flow_channel, p_origin || ':' || p_status);
    RETURN;
  END IF;

  o_ready_at := ready_after(p_runnable_at, q.next_timer_at, q.next_event_at, p_defer_until);
  IF p_keep_lease_ms IS NULL THEN
    UPDATE queue SET
      ready_at = o_ready_at, defer_until = p_defer_until, attempts = 0,
      lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL,
      timer_count = q.timer_count, next_timer_at = q.next_timer_at,
      event_count = q.event_count, next_event_at = q.next_event_at
    WHERE id = p_id;
    IF o_ready_at IS NOT NULL THEN
      PERFORM pg_notify(p_work_channel, p_origin || ':' || ms_text(o_ready_at));
    END IF;
    RETURN;
  END IF;

  -- A checkpoint: keptReadyAt and keptLeaseExpiry.
  IF q.ready_at IS NOT NULL AND o_ready_at IS NOT NULL AND q.ready_at <= o_ready_at AND o_ready_at <= p_now THEN
    o_ready_at := q.ready_at;
  END IF;
  o_lease_owner := q.lease_owner;
  o_lease_expires_at := CASE WHEN q.lease_expires_at - p_now >= p_keep_lease_ms * 0.9
    THEN q.lease_expires_at ELSE p_now + p_keep_lease_ms END;
  IF NOT v_plain OR o_ready_at IS DISTINCT FROM q.ready_at OR o_lease_expires_at <> q.lease_expires_at
     OR p_defer_until IS DISTINCT FROM q.defer_until OR q.attempts <> 0 THEN
    UPDATE queue SET
      ready_at = o_ready_at, defer_until = p_defer_until, attempts = 0,
      lease_expires_at = o_lease_expires_at,
      timer_count = q.timer_count, next_timer_at = q.next_timer_at,
      event_count = q.event_count, next_event_at = q.next_event_at
    WHERE id = p_id;
  END IF;
  -- Hand back what arrived meanwhile. Nothing pending, no timer due: nothing read.
  IF q.event_count > 0 OR q.next_timer_at <= p_now THEN
    SELECT t.ev_seq, t.ev_kind, t.ev_wait, t.ev_payload, t.ev_text, t.ev_at
      INTO ev_seq, ev_kind, ev_wait, ev_payload, ev_text, ev_at
      FROM take_events(p_id, p_now) t;
  END IF;
END
$fn$;

-- Leases up to p_limit runnable flows, oldest ready first. SKIP LOCKED: concurrent claimers pass
-- over rows another claimer (or a commit, delivery, cancel) holds instead of waiting, and the
-- re-check after locking keeps a flow leased meanwhile from being granted twice. Due timers of the
-- claimed flows become events; each flow comes back with all its pending events.
--
-- Unleased ready flows come from queue_ready in order. Flows whose lease ran out (crash recovery)
-- are looked for only when the earliest lease expiry says there is one. Every statement here has a
-- plan that does not depend on the parameters, so the plans are made once per connection
-- (plan_cache_mode): re-planning the claim at every call cost more than running it.
CREATE OR REPLACE FUNCTION claim_flows(
  p_owner text, p_lease_ms double precision, p_limit integer, p_now double precision)
RETURNS TABLE (
  o_id text, o_revision bigint, o_status text, o_root_function_id text,
  o_snapshot bytea, o_snapshot_text boolean, o_metadata json,
  o_token text, o_attempts integer,
  ev_seq bigint[], ev_kind text[], ev_wait text[],
  ev_payload bytea[], ev_text boolean[], ev_at double precision[])
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_bitmapscan = off SET enable_seqscan = off
  SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_ids    text[];
  v_due    text[];
  v_expiry double precision;
  v_fired  text[];
  v_counts bigint[];
  v_firsts double precision[];
BEGIN
  SELECT q.lease_expires_at INTO v_expiry FROM queue q
    WHERE q.lease_expires_at IS NOT NULL ORDER BY q.lease_expires_at LIMIT 1;
  IF v_expiry <= p_now THEN
    WITH unleased AS (
      SELECT q.id, q.ready_at, q.next_timer_at FROM queue q
      WHERE q.ready_at <= p_now AND q.lease_token IS NULL
      ORDER BY q.ready_at, q.id
      LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ), expired AS (
      SELECT q.id, q.ready_at, q.next_timer_at FROM queue q
      WHERE q.lease_expires_at <= p_now AND q.ready_at <= p_now
      ORDER BY q.ready_at, q.id
      LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    )
    SELECT array_agg(r.id ORDER BY r.ready_at, r.id),
           array_agg(r.id) FILTER (WHERE r.next_timer_at <= p_now)
      INTO v_ids, v_due
    FROM (
      SELECT u.id, u.ready_at, u.next_timer_at FROM unleased u
      UNION ALL
      SELECT x.id, x.ready_at, x.next_timer_at FROM expired x
      ORDER BY 2, 1
      LIMIT p_limit
    ) r;
  ELSE
    SELECT array_agg(r.id ORDER BY r.ready_at, r.id),
           array_agg(r.id) FILTER (WHERE r.next_timer_at <= p_now)
      INTO v_ids, v_due
    FROM (
      SELECT q.id, q.ready_at, q.next_timer_at FROM queue q
      WHERE q.ready_at <= p_now AND q.lease_token IS NULL
      ORDER BY q.ready_at, q.id
      LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ) r;
  END IF;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;

  -- Due timers become events, only for the flows whose earliest timer is due.
  IF v_due IS NOT NULL THEN
    WITH fired AS (
      DELETE FROM timers t WHERE t.flow_id = ANY (v_due) AND t.due_at <= p_now
      RETURNING t.flow_id, t.id, t.due_at),
    ins AS (
      INSERT INTO events (flow_id, kind, wait_id, at)
        SELECT fired.flow_id, 'timer', fired.id, fired.due_at FROM fired
        ORDER BY fired.flow_id, fired.due_at, fired.id)
    SELECT array_agg(g.flow_id), array_agg(g.n), array_agg(g.first) INTO v_fired, v_counts, v_firsts
    FROM (SELECT fired.flow_id, count(*) AS n, min(fired.due_at) AS first FROM fired GROUP BY fired.flow_id) g;
  END IF;

  UPDATE queue q SET
    lease_token = replace(gen_random_uuid()::text, '-', ''),
    lease_owner = p_owner,
    lease_expires_at = p_now + p_lease_ms,
    attempts = q.attempts + 1,
    timer_count = q.timer_count - coalesce(g.n, 0),
    next_timer_at = CASE
      WHEN g.n IS NULL THEN q.next_timer_at
      WHEN q.timer_count > g.n THEN (SELECT min(t.due_at) FROM timers t WHERE t.flow_id = q.id)
    END,
    event_count = q.event_count + coalesce(g.n, 0),
    next_event_at = least(q.next_event_at, g.first)
  FROM unnest(v_ids) AS u(id)
  LEFT JOIN unnest(v_fired, v_counts, v_firsts) AS g(flow_id, n, first) ON g.flow_id = u.id
  WHERE q.id = u.id;

  RETURN QUERY
    SELECT f.id, f.revision, f.status, f.root_function_id, f.snapshot, f.snapshot_text, f.metadata,
           q.lease_token, q.attempts,
           ev.seqs, ev.kinds, ev.waits, ev.payloads, ev.texts, ev.ats
    FROM unnest(v_ids) WITH ORDINALITY AS u(id, n)
    JOIN queue q ON q.id = u.id
    JOIN flows f ON f.id = u.id
    LEFT JOIN LATERAL (
      SELECT array_agg(e.seq ORDER BY e.at, e.seq) AS seqs, array_agg(e.kind ORDER BY e.at, e.seq) AS kinds,
             array_agg(e.wait_id ORDER BY e.at, e.seq) AS waits,
             array_agg(e.payload ORDER BY e.at, e.seq) AS payloads,
             array_agg(e.payload_text ORDER BY e.at, e.seq) AS texts,
             array_agg(e.at ORDER BY e.at, e.seq) AS ats
      FROM events e WHERE e.flow_id = q.id AND q.event_count > 0
    ) ev ON true
    ORDER BY u.n;
END
$fn$;

-- Adds an event to a flow whose queue row the caller holds, and makes it runnable
-- (readyAtAfterEvent in src/store/shared/schedule.ts). Announces work when no live lease will see
-- the event at its commit.
DROP FUNCTION add_event(text, text, text, bytea, boolean, double precision, double precision,
  double precision, double precision, text, text);
CREATE FUNCTION add_event(
  p_flow text, p_kind text, p_wait text, p_payload bytea, p_payload_text boolean,
  p_now double precision, p_origin text, p_work_channel text,
  OUT o_event_id bigint, OUT o_ready_at double precision, OUT o_notified boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$
DECLARE
  v_lease_exp double precision;
BEGIN
  INSERT INTO events (flow_id, kind, wait_id, payload, payload_text, at)
    VALUES (p_flow, p_kind, p_wait, p_payload, p_payload_text, p_now)
    RETURNING seq INTO o_event_id;
  UPDATE queue q SET
    ready_at = least(q.ready_at, greatest(p_now, q.defer_until)),
    event_count = q.event_count + 1,
    next_event_at = least(q.next_event_at, p_now)
  WHERE q.id = p_flow
  RETURNING q.ready_at, q.lease_expires_at INTO o_ready_at, v_lease_exp;
  o_notified := v_lease_exp IS NULL OR v_lease_exp <= p_now;
  IF o_notified THEN
    PERFORM pg_notify(p_work_channel, p_origin || ':' || ms_text(o_ready_at));
  END IF;
END
$fn$;

-- One delivery per callback. The queue row is locked before the callback row (as commits do), so
-- concurrent deliveries of one callback queue on the flow and the second sees 'delivered'. A
-- finished flow has no queue row; its callbacks are no longer waiting.
CREATE OR REPLACE FUNCTION deliver_event(
  p_callback text, p_kind text, p_payload bytea, p_payload_text boolean, p_now double precision,
  p_origin text, p_work_channel text,
  OUT o_flow_id text, OUT o_event_id bigint, OUT o_ready_at double precision, OUT o_notified boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_bitmapscan = off SET enable_seqscan = off
AS $fn$
DECLARE
  v_state text;
BEGIN
  SELECT c.flow_id INTO o_flow_id FROM callbacks c WHERE c.id = p_callback;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DT502', MESSAGE = 'no such callback', DETAIL = 'unknown';
  END IF;
  PERFORM 1 FROM queue q WHERE q.id = o_flow_id FOR NO KEY UPDATE;
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
                   p_origin, p_work_channel) a;
END
$fn$;

-- At most one pending cancel event per flow.
CREATE OR REPLACE FUNCTION request_cancel(
  p_flow text, p_payload bytea, p_payload_text boolean, p_now double precision,
  p_origin text, p_work_channel text, p_flow_channel text,
  OUT o_outcome text, OUT o_event_id bigint, OUT o_ready_at double precision, OUT o_notified boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_bitmapscan = off SET enable_seqscan = off
AS $fn$
DECLARE
  v_events integer;
BEGIN
  SELECT q.event_count INTO v_events FROM queue q WHERE q.id = p_flow FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    PERFORM 1 FROM flows f WHERE f.id = p_flow;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'DT501', MESSAGE = 'no such flow';
    END IF;
    -- No queue row: the flow finished.
    o_outcome := 'finished';
    RETURN;
  END IF;
  IF v_events > 0 THEN
    SELECT e.seq INTO o_event_id FROM events e
      WHERE e.flow_id = p_flow AND e.kind = 'cancel' ORDER BY e.seq LIMIT 1;
    IF FOUND THEN
      o_outcome := 'pending';
      RETURN;
    END IF;
  END IF;
  SELECT a.o_event_id, a.o_ready_at, a.o_notified INTO o_event_id, o_ready_at, o_notified
    FROM add_event(p_flow, 'cancel', NULL, p_payload, p_payload_text, p_now,
                   p_origin, p_work_channel) a;
  PERFORM pg_notify(p_flow_channel, p_origin || ':cancel-requested');
  o_outcome := 'requested';
END
$fn$;
`;
