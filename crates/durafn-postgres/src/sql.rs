//! The SQL of every operation, prepared once per connection.
//!
//! Table names are unqualified: each connection's `search_path` is the task hub's schema only.
//! Statements work on whole batches through arrays (`unnest`), so a batch of turns costs a fixed
//! number of statements, not a number per turn.

use tokio_postgres::{Client, Statement};

use crate::pipeline::{Pipeline, pipeline};

/// The columns of `instances`, in the order [`crate::codec::record`] reads them.
macro_rules! instance_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "instance_id, ",
            $prefix,
            "name, ",
            $prefix,
            "execution_id, ",
            $prefix,
            "status, ",
            $prefix,
            "input, ",
            $prefix,
            "output, ",
            $prefix,
            "failure, ",
            $prefix,
            "custom_status, ",
            $prefix,
            "created_at, ",
            $prefix,
            "last_updated_at, ",
            $prefix,
            "parent, ",
            $prefix,
            "history_len, ",
            $prefix,
            "version, ",
            $prefix,
            "trace_context"
        )
    };
}
pub(crate) use instance_columns;

/// Locks the rows of `instance_locks` for the given (sorted, distinct) instances, creating the
/// missing ones, in one statement and in order: the first thing every transaction that changes
/// instances does, so that transactions wait for each other in one global order and never
/// deadlock. `WHERE false` locks existing rows without writing new versions of them.
const LOCK: &str = "
INSERT INTO instance_locks AS l (instance_id)
SELECT * FROM unnest($1::text[])
ON CONFLICT (instance_id) DO UPDATE SET owner = l.owner WHERE false";

/// The lease tokens of rows already locked by this transaction.
const TOKENS: &str = "
SELECT instance_id, lock_token FROM instance_locks WHERE instance_id = ANY($1::text[])";

/// The statuses of existing instances.
const STATUSES: &str = "
SELECT instance_id, status FROM instances WHERE instance_id = ANY($1::text[])";

/// Recomputes the queue state of locked instances from their messages, releasing the leases of
/// `$2`; rows left with no messages and no lease are deleted (the table holds only instances
/// with work or a lease).
const MAINTAIN: &str = "
WITH s AS (
    SELECT t.id, m.next_visible, m.first_message
    FROM unnest($1::text[]) AS t(id)
    CROSS JOIN LATERAL (
        SELECT min(COALESCE(visible_at, '-9223372036854775808'::BIGINT)) AS next_visible,
               min(id) AS first_message
        FROM messages WHERE instance_id = t.id
    ) AS m
), gone AS (
    DELETE FROM instance_locks AS l USING s
    WHERE l.instance_id = s.id AND s.next_visible IS NULL
      AND (l.lock_token IS NULL OR l.instance_id = ANY($2::text[]))
)
INSERT INTO instance_locks AS l (instance_id, next_visible, first_message)
SELECT id, next_visible, first_message FROM s WHERE next_visible IS NOT NULL
ON CONFLICT (instance_id) DO UPDATE SET
    next_visible = EXCLUDED.next_visible,
    first_message = EXCLUDED.first_message,
    lock_token = CASE WHEN l.instance_id = ANY($2::text[]) THEN NULL ELSE l.lock_token END,
    locked_until = CASE WHEN l.instance_id = ANY($2::text[]) THEN NULL ELSE l.locked_until END,
    owner = CASE WHEN l.instance_id = ANY($2::text[]) THEN NULL ELSE l.owner END";

/// Deletes consumed messages.
const CONSUME: &str = "DELETE FROM messages WHERE id = ANY($1::bigint[])";

/// Deletes the history of instances whose history is replaced.
const CLEAR_HISTORY: &str = "DELETE FROM history WHERE instance_id = ANY($1::text[])";

/// Appends one row per instance: `$2` events as the JSON array `$3`, after the last row.
const APPEND_HISTORY: &str = "
INSERT INTO history (instance_id, seq, count, events)
SELECT u.instance_id,
       COALESCE((SELECT h.seq + h.count FROM history AS h WHERE h.instance_id = u.instance_id
                 ORDER BY h.seq DESC LIMIT 1), 0),
       u.count, u.events
FROM unnest($1::text[], $2::integer[], $3::text[]) AS u(instance_id, count, events)";

/// Applies the instance rows of turns, creating missing rows (an entity's row is made by its
/// first turn, created at its `last_updated_at`); `history_len` is counted after the history
/// changed. An input or custom status equal to the stored one keeps the stored value, so a
/// large one kept out of line (TOAST) is not written again, with its WAL, on every turn.
const UPDATE_INSTANCES: &str = "
INSERT INTO instances AS i (instance_id, status, name, execution_id, input, output, failure,
                            custom_status, created_at, last_updated_at, parent, history_len)
SELECT u.instance_id, u.status, u.name, u.execution_id, u.input, u.output, u.failure,
       u.custom_status, u.last_updated_at, u.last_updated_at, NULL,
       COALESCE((SELECT h.seq + h.count FROM history AS h WHERE h.instance_id = u.instance_id
                 ORDER BY h.seq DESC LIMIT 1), 0)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::bigint[])
    AS u(instance_id, status, name, execution_id, input, output, failure, custom_status,
         last_updated_at)
ON CONFLICT (instance_id) DO UPDATE SET
    status = EXCLUDED.status, name = EXCLUDED.name, execution_id = EXCLUDED.execution_id,
    input = CASE WHEN i.input = EXCLUDED.input THEN i.input ELSE EXCLUDED.input END,
    output = EXCLUDED.output, failure = EXCLUDED.failure,
    custom_status = CASE WHEN i.custom_status IS NOT DISTINCT FROM EXCLUDED.custom_status
                         THEN i.custom_status ELSE EXCLUDED.custom_status END,
    last_updated_at = EXCLUDED.last_updated_at, history_len = EXCLUDED.history_len";

/// Enqueues activity work items, visible at once.
const INSERT_ACTIVITIES: &str = "
INSERT INTO activities (instance_id, execution_id, task_id, name, input, trace_context)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])";

/// Enqueues activity work items leased to the committing host (a turn's claim), as their first
/// delivery; returns their ids with the instance and task they belong to.
const INSERT_CLAIMED_ACTIVITIES: &str = "
INSERT INTO activities (instance_id, execution_id, task_id, name, input, trace_context,
    lock_token, locked_until, owner, delivery)
SELECT c.i, c.e, c.t, c.n, c.x, c.tc, c.k, c.u, c.o, 1
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
    $7::text[], $8::bigint[], $9::text[]) AS c(i, e, t, n, x, tc, k, u, o)
RETURNING id, instance_id, task_id";

/// Enqueues messages, in array order (their ids follow it).
const INSERT_MESSAGES: &str = "
INSERT INTO messages (instance_id, execution_id, event, visible_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])";

/// Enqueues messages and makes their instances ready no later than the messages are visible,
/// in one statement: rows are locked once, in sorted order, and only moved earlier, so this
/// commutes with every other writer (those that remove messages hold the row and recompute).
const ENQUEUE: &str = "
WITH sent AS (
    INSERT INTO messages (instance_id, execution_id, event, visible_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
    RETURNING id, instance_id, visible_at
)
INSERT INTO instance_locks AS l (instance_id, next_visible, first_message)
SELECT instance_id, min(COALESCE(visible_at, '-9223372036854775808'::BIGINT)), min(id)
FROM sent GROUP BY instance_id ORDER BY instance_id COLLATE \"C\"
ON CONFLICT (instance_id) DO UPDATE SET
    next_visible = LEAST(l.next_visible, EXCLUDED.next_visible),
    first_message = LEAST(l.first_message, EXCLUDED.first_message)";

/// Deletes the history and queued work of instances being (re)created or purged.
const REMOVE_DATA: &str = "
WITH h AS (DELETE FROM history WHERE instance_id = ANY($1::text[])),
     m AS (DELETE FROM messages WHERE instance_id = ANY($1::text[]))
DELETE FROM activities WHERE instance_id = ANY($1::text[])";

/// Creates instance rows in status Pending, replacing terminal ones.
const UPSERT_INSTANCES: &str = "
INSERT INTO instances (instance_id, name, execution_id, status, input, output, failure,
                       custom_status, created_at, last_updated_at, parent, history_len, version,
                       trace_context)
SELECT u.instance_id, u.name, u.execution_id, 'Pending', u.input, NULL, NULL, NULL,
       u.created_at, u.created_at, u.parent, 0, u.version, u.trace_context
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
            $7::text[], $8::text[])
    AS u(instance_id, name, execution_id, input, created_at, parent, version, trace_context)
ON CONFLICT (instance_id) DO UPDATE SET
    name = EXCLUDED.name, execution_id = EXCLUDED.execution_id, status = EXCLUDED.status,
    input = EXCLUDED.input, output = NULL, failure = NULL, custom_status = NULL,
    created_at = EXCLUDED.created_at, last_updated_at = EXCLUDED.last_updated_at,
    parent = EXCLUDED.parent, history_len = 0, version = EXCLUDED.version,
    trace_context = EXCLUDED.trace_context";

/// Deletes instance rows (purge).
const DELETE_INSTANCES: &str = "
WITH i AS (DELETE FROM instances WHERE instance_id = ANY($1::text[]))
DELETE FROM instance_locks WHERE instance_id = ANY($1::text[])";

/// The rest of a statement that leases the instances of its `picked` CTE to `$3` until `$4` for
/// owner `$5` and returns each with its messages visible at `$1` and its row.
macro_rules! lease_picked {
    () => {
        concat!(
            "), locked AS (
    UPDATE instance_locks SET lock_token = $3, locked_until = $4, owner = $5
    WHERE instance_id = ANY(ARRAY(SELECT instance_id FROM picked))
    RETURNING instance_id, first_message
), delivered AS (
    UPDATE messages SET delivery = delivery + 1
    WHERE instance_id = ANY(ARRAY(SELECT instance_id FROM locked))
      AND (visible_at IS NULL OR visible_at <= $1)
    RETURNING instance_id, id, execution_id, event, delivery
), grouped AS (
    SELECT instance_id, array_agg(id ORDER BY id) AS ids,
           array_agg(execution_id ORDER BY id) AS executions,
           array_agg(event ORDER BY id) AS events,
           array_agg(delivery ORDER BY id) AS deliveries
    FROM delivered GROUP BY instance_id
)
SELECT k.instance_id, g.ids, g.executions, g.events, g.deliveries, i.instance_id IS NOT NULL, ",
            instance_columns!("i."),
            "
FROM locked AS k
LEFT JOIN grouped AS g ON g.instance_id = k.instance_id
LEFT JOIN LATERAL (SELECT * FROM instances WHERE instances.instance_id = k.instance_id) AS i
    ON TRUE
ORDER BY k.first_message"
        )
    };
}

/// Leases up to `$2` ready instances (oldest first, skipping rows other transactions hold) and
/// returns each with its instance row and its visible messages, counting their deliveries: one
/// statement, so one round trip and one commit per fetch.
const FETCH_ORCHESTRATIONS: &str = concat!(
    "
WITH picked AS (
    SELECT instance_id FROM instance_locks
    WHERE ready_at <= $1
    ORDER BY ready_at, first_message
    LIMIT $2
    FOR UPDATE SKIP LOCKED
",
    lease_picked!()
);

/// Leases the given instances (`$2`) where they are ready (no live lease, a visible message)
/// and returns them as a fetch does: the claim of an activity completion, whose transaction
/// already holds their rows.
const CLAIM_ORCHESTRATIONS: &str = concat!(
    "
WITH picked AS (
    SELECT instance_id FROM instance_locks WHERE instance_id = ANY($2) AND ready_at <= $1
",
    lease_picked!()
);

/// Locks one instance's row and returns its lease token (abandon).
const LOCK_ONE: &str = "SELECT lock_token FROM instance_locks WHERE instance_id = $1 FOR UPDATE";

/// Delays an instance's messages until at least `$2` (abandon with a retry time).
const DELAY_MESSAGES: &str =
    "UPDATE messages SET visible_at = GREATEST(visible_at, $2) WHERE instance_id = $1";

/// Leases up to `$2` ready activity work items, oldest first, skipping rows others hold; returns
/// the end of the lease that ran out on each (`NULL` when there was none).
const FETCH_ACTIVITIES: &str = "
WITH picked AS (
    SELECT id, locked_until FROM activities WHERE ready_at <= $1 ORDER BY ready_at, id LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE activities AS a
SET lock_token = $3, locked_until = $4, owner = $5, delivery = a.delivery + 1
FROM picked WHERE a.id = picked.id
RETURNING a.id, a.instance_id, a.execution_id, a.task_id, a.name, a.input, a.delivery,
    a.trace_context, picked.locked_until";

/// Deletes finished work items still leased under the given tokens, enqueues the results of
/// exactly those, in order, and makes their instances ready (the caller holds their rows);
/// returns the completed (id, token) pairs.
const COMPLETE_ACTIVITIES: &str = "
WITH done AS (
    DELETE FROM activities AS a USING unnest($1::bigint[], $2::text[]) AS u(id, token)
    WHERE a.id = u.id AND a.lock_token = u.token
    RETURNING a.id, a.lock_token
), sent AS (
    INSERT INTO messages (instance_id, execution_id, event, visible_at)
    SELECT r.instance_id, r.execution_id, r.event, r.visible_at
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
        WITH ORDINALITY AS r(activity_id, token, instance_id, execution_id, event, visible_at, ord)
    WHERE (r.activity_id, r.token) IN (SELECT id, lock_token FROM done)
    ORDER BY r.ord
    RETURNING id, instance_id, visible_at
), ready AS (
    INSERT INTO instance_locks AS l (instance_id, next_visible, first_message)
    SELECT instance_id, min(COALESCE(visible_at, '-9223372036854775808'::BIGINT)), min(id)
    FROM sent GROUP BY instance_id ORDER BY instance_id COLLATE \"C\"
    ON CONFLICT (instance_id) DO UPDATE SET
        next_visible = LEAST(l.next_visible, EXCLUDED.next_visible),
        first_message = LEAST(l.first_message, EXCLUDED.first_message)
)
SELECT id, lock_token FROM done";

/// Releases an activity's lease, optionally delaying it.
const ABANDON_ACTIVITY: &str = "
UPDATE activities SET lock_token = NULL, locked_until = NULL, owner = NULL,
    visible_at = COALESCE($3, visible_at)
WHERE id = $1 AND lock_token = $2";

/// Extends the leases still held; returns the renewed (id, token) pairs.
const RENEW_ACTIVITIES: &str = "
UPDATE activities AS a SET locked_until = $3
FROM unnest($1::bigint[], $2::text[]) AS u(id, token)
WHERE a.id = u.id AND a.lock_token = u.token
RETURNING a.id, a.lock_token";

/// One instance row.
const GET_INSTANCE: &str = concat!(
    "SELECT ",
    instance_columns!(""),
    " FROM instances WHERE instance_id = $1"
);

/// One instance's history, in order, one JSON array of events per row.
const GET_HISTORY: &str = "SELECT events FROM history WHERE instance_id = $1 ORDER BY seq";

/// The histories of several instances, in one statement (the caller puts them in order).
const GET_HISTORIES: &str = "
SELECT instance_id, events FROM history WHERE instance_id = ANY($1::text[])
ORDER BY instance_id, seq";

/// Instances per status.
const COUNT_BY_STATUS: &str = "SELECT status, count(*) FROM instances GROUP BY status";

/// The next time a message or work item becomes visible.
const NEXT_VISIBLE_AT: &str = "
SELECT LEAST((SELECT min(visible_at) FROM messages WHERE visible_at > $1),
             (SELECT min(visible_at) FROM activities WHERE visible_at > $1))";

/// Every lease recorded, optionally only those of one owner (diagnostics).
const LEASES: &str = "
SELECT 'instance', instance_id, NULL::bigint, NULL::text, NULL::text, owner, locked_until
FROM instance_locks WHERE lock_token IS NOT NULL AND ($1::text IS NULL OR owner = $1)
UNION ALL
SELECT 'activity', instance_id, id, name, input, owner, locked_until
FROM activities WHERE lock_token IS NOT NULL AND ($1::text IS NULL OR owner = $1)";

macro_rules! statements {
    ($($field:ident = $sql:ident),* $(,)?) => {
        /// Every fixed statement, prepared on one connection.
        pub(crate) struct Statements {
            $(pub(crate) $field: Statement,)*
        }

        impl Statements {
            /// Prepares all statements in one pipelined round trip.
            pub(crate) async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
                let p: Pipeline<'_, Statement> = vec![$(Box::pin(client.prepare($sql)),)*];
                let mut prepared = pipeline(p).await?.into_iter();
                Ok(Self {
                    $($field: prepared.next().expect("one statement per field"),)*
                })
            }
        }
    };
}

statements! {
    lock = LOCK,
    tokens = TOKENS,
    statuses = STATUSES,
    maintain = MAINTAIN,
    consume = CONSUME,
    clear_history = CLEAR_HISTORY,
    append_history = APPEND_HISTORY,
    update_instances = UPDATE_INSTANCES,
    insert_activities = INSERT_ACTIVITIES,
    insert_claimed_activities = INSERT_CLAIMED_ACTIVITIES,
    insert_messages = INSERT_MESSAGES,
    enqueue = ENQUEUE,
    remove_data = REMOVE_DATA,
    upsert_instances = UPSERT_INSTANCES,
    delete_instances = DELETE_INSTANCES,
    fetch_orchestrations = FETCH_ORCHESTRATIONS,
    claim_orchestrations = CLAIM_ORCHESTRATIONS,
    lock_one = LOCK_ONE,
    delay_messages = DELAY_MESSAGES,
    fetch_activities = FETCH_ACTIVITIES,
    complete_activities = COMPLETE_ACTIVITIES,
    abandon_activity = ABANDON_ACTIVITY,
    renew_activities = RENEW_ACTIVITIES,
    get_instance = GET_INSTANCE,
    get_history = GET_HISTORY,
    get_histories = GET_HISTORIES,
    count_by_status = COUNT_BY_STATUS,
    next_visible_at = NEXT_VISIBLE_AT,
    leases = LEASES,
}
