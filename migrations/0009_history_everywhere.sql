-- phase: expand
-- History for every mutable entity, completed (issue 9; docs/history.md). On top of the triggers
-- of 0001 each change now also records who or what made it (the transaction's actor, model and
-- prompt version, the database role and client), deletes are recorded, and each history row
-- holds the entity's full state after the change beside the delta, so that "as of t" is one
-- index lookup. Guards make history append-only and refuse what would skip it (TRUNCATE, a
-- changed id), and every trigger is ENABLE ALWAYS so that session_replication_role cannot
-- silence it.
--
-- Every table with the 0001 triggers when this runs is converted (keeping the WHEN condition of
-- a table that versions only some updates, as log_templates does); a table created later joins
-- with one call in its own migration:
--     SELECT history_track('<table>', '<table>_changes', '<fk column>'[, '<update condition>']);
-- (the table needs id, version, row_updated_at, changed_by; the changes table the columns of
-- ticket_changes: fk, version, changed_at, changed_by, change_kind, delta, event_id).

-- The tables whose history is kept, for store/history.py to find them by name.
CREATE TABLE history_entities (
    entity       regclass PRIMARY KEY,
    changes      regclass NOT NULL,
    fk           name NOT NULL,
    update_when  text           -- an UPDATE makes a version only when this holds (NULL: always)
);

-- The fold of deltas: the state at version v is the merge of deltas 1..v (used to fill `state`
-- of rows written before this migration).
CREATE AGGREGATE history_merge(jsonb) (SFUNC = jsonb_concat, STYPE = jsonb, INITCOND = '{}');

-- Who: `SET LOCAL opsassist.actor = 'user:alice'` (also opsassist.model and
-- opsassist.prompt_version) names the actor of every change the transaction makes, and is
-- written into the row's changed_by too; without it the row's own changed_by is recorded.
-- The time is the transaction's (now()), never before the previous version's time, so versions
-- of one entity are ordered in time even when a transaction that started earlier wrote later.
CREATE OR REPLACE FUNCTION history_stamp_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor text := nullif(current_setting('opsassist.actor', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.version := 1;
        NEW.row_updated_at := now();
    ELSE
        IF NEW.id IS DISTINCT FROM OLD.id THEN
            RAISE EXCEPTION 'history: the id of a row of % cannot change (% to %)',
                TG_TABLE_NAME, OLD.id, NEW.id
                USING ERRCODE = 'restrict_violation',
                      HINT = 'History is keyed by id; insert a new row instead.';
        END IF;
        NEW.version := OLD.version + 1;
        NEW.row_updated_at := greatest(now(), OLD.row_updated_at);
    END IF;
    IF actor IS NOT NULL THEN
        NEW.changed_by := actor;
    END IF;
    RETURN NEW;
END $$;

-- The history row: the delta (only the fields that changed, bookkeeping columns aside), the full
-- state after the change (NULL once deleted), and who made it. Arguments: the changes table,
-- schema-qualified (a temporary table of the same name must not catch the history), and its
-- column that references the entity. SECURITY DEFINER: it writes history as the tables' owner,
-- which is how the guard below tells it from an INSERT of anyone else, and which spares the
-- application any right on the history tables but SELECT; its search_path puts pg_temp last,
-- as a SECURITY DEFINER function must.
CREATE OR REPLACE FUNCTION history_record_change() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bookkeeping constant text[] := ARRAY['version', 'row_updated_at', 'changed_by', 'last_event_id'];
    actor text := nullif(current_setting('opsassist.actor', true), '');
    new_row jsonb;
    old_row jsonb;
    delta jsonb;
    sql text := format(
        'INSERT INTO %s (%I, version, changed_at, changed_by, change_kind, delta, event_id, '
        'state, model, prompt_version, db_user, application_name, transaction_id) '
        'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, session_user, $11, $12)',
        TG_ARGV[0], TG_ARGV[1]);
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE sql USING OLD.id, OLD.version + 1, greatest(now(), OLD.row_updated_at),
            coalesce(actor, 'db:' || session_user), 'delete', '{}'::jsonb, NULL::text, NULL::jsonb,
            nullif(current_setting('opsassist.model', true), ''),
            nullif(current_setting('opsassist.prompt_version', true), ''),
            nullif(current_setting('application_name', true), ''),
            pg_current_xact_id()::text::bigint;
        RETURN NULL;
    END IF;
    new_row := to_jsonb(NEW);
    IF TG_OP = 'INSERT' THEN
        delta := new_row - bookkeeping;
    ELSE
        old_row := to_jsonb(OLD);
        SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}'::jsonb) INTO delta
        FROM jsonb_each(new_row) AS n
        WHERE NOT (n.key = ANY (bookkeeping))
          AND n.value IS DISTINCT FROM (old_row -> n.key);
    END IF;
    EXECUTE sql USING NEW.id, NEW.version, NEW.row_updated_at, NEW.changed_by, lower(TG_OP),
        delta, new_row ->> 'last_event_id', new_row,
        nullif(current_setting('opsassist.model', true), ''),
        nullif(current_setting('opsassist.prompt_version', true), ''),
        nullif(current_setting('application_name', true), ''),
        pg_current_xact_id()::text::bigint;
    RETURN NULL;
END $$;

-- The guard: a *_changes table takes rows from history_record_change only (inside a trigger,
-- running as that function's owner; an INSERT of anyone else is refused, also one from a
-- trigger of the application's own temporary table), and never an UPDATE, DELETE or TRUNCATE;
-- an entity table refuses TRUNCATE, which skips row triggers.
CREATE FUNCTION history_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (the function of the changes table's schema; looked up without search_path, which is
    -- pg_catalog, pg_temp inside history_record_change)
    IF TG_OP = 'INSERT' AND pg_trigger_depth() > 1 AND current_user = (
        SELECT pg_catalog.pg_get_userbyid(p.proowner)
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_class c ON c.relnamespace = p.pronamespace
        WHERE c.oid = TG_RELID AND p.proname = 'history_record_change'
    ) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'history: TRUNCATE of % is refused (it would skip or erase history)',
            TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = CASE WHEN EXISTS (SELECT 1 FROM history_entities WHERE entity = TG_RELID)
                              THEN 'DELETE the rows instead: each delete is recorded.'
                              ELSE 'History is append-only.' END;
    END IF;
    RAISE EXCEPTION 'history: % is written by its entity''s triggers only; a direct % is refused',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Change the entity row; its history follows.';
END $$;

CREATE FUNCTION history_track(entity regclass, changes regclass, fk name,
                              update_when text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    trig record;
    idx record;
    changes_name name := (SELECT relname FROM pg_class WHERE oid = changes);
    changes_qualified text := (
        SELECT format('%I.%I', n.nspname, c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = changes);
    has_event_id boolean := EXISTS (
        SELECT 1 FROM pg_attribute
        WHERE attrelid = entity AND attname = 'last_event_id' AND NOT attisdropped);
    fk_attnum smallint := (
        SELECT attnum FROM pg_attribute WHERE attrelid = changes AND attname = fk);
    changed_at_attnum smallint := (
        SELECT attnum FROM pg_attribute WHERE attrelid = changes AND attname = 'changed_at');
BEGIN
    IF fk_attnum IS NULL OR changed_at_attnum IS NULL THEN
        RAISE EXCEPTION 'history_track: % needs the columns % and changed_at', changes, fk;
    END IF;
    EXECUTE format(
        'ALTER TABLE %s ADD COLUMN IF NOT EXISTS state jsonb, '
        'ADD COLUMN IF NOT EXISTS model text, ADD COLUMN IF NOT EXISTS prompt_version text, '
        'ADD COLUMN IF NOT EXISTS db_user text, ADD COLUMN IF NOT EXISTS application_name text, '
        'ADD COLUMN IF NOT EXISTS transaction_id bigint', changes);

    -- Every history trigger on either table goes; the complete set is created below.
    FOR trig IN
        SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger
        WHERE tgrelid IN (entity, changes) AND NOT tgisinternal
          AND tgfoid IN ('history_stamp_version'::regproc, 'history_record_change'::regproc,
                         'history_refuse'::regproc)
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trig.tgname, trig.rel);
    END LOOP;

    -- Rows written before: their state is the fold of their deltas, plus the bookkeeping.
    EXECUTE format(
        'UPDATE %1$s c SET state = f.state FROM ('
        '  SELECT %2$I AS fk, version,'
        '         history_merge(delta) OVER (PARTITION BY %2$I ORDER BY version)'
        '         || jsonb_build_object(''version'', version, ''row_updated_at'', changed_at,'
        '                               ''changed_by'', changed_by) %3$s AS state'
        '  FROM %1$s) f '
        'WHERE c.%2$I = f.fk AND c.version = f.version AND c.state IS NULL'
        '  AND c.change_kind <> ''delete''',
        changes, fk,
        CASE WHEN has_event_id THEN '|| jsonb_build_object(''last_event_id'', event_id)' ELSE '' END);

    -- As of t: the newest version at or before t is the first entry of a backward scan of
    -- (fk, changed_at, version); an index on (fk, changed_at) alone would sort the ties, so it
    -- is replaced. Entities that existed at t: by their first version.
    FOR idx IN
        SELECT i.indexrelid::regclass AS name FROM pg_index i
        WHERE i.indrelid = changes AND i.indpred IS NULL AND NOT i.indisunique
          AND i.indnkeyatts = 2 AND i.indkey[0] = fk_attnum AND i.indkey[1] = changed_at_attnum
    LOOP
        EXECUTE format('DROP INDEX %s', idx.name);
    END LOOP;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (%I, changed_at, version)',
                   changes_name || '_as_of', changes, fk);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (%I, changed_at) WHERE version = 1',
                   changes_name || '_born', changes, fk);

    IF update_when IS NULL THEN
        EXECUTE format('CREATE TRIGGER history_stamp BEFORE INSERT OR UPDATE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION history_stamp_version()', entity);
        EXECUTE format('CREATE TRIGGER history_record AFTER INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION history_record_change(%L, %L)',
                       entity, changes_qualified, fk);
    ELSE
        -- The table's owner chose to version only some updates (counters bumped every batch
        -- are not history); inserts and deletes always are.
        EXECUTE format('CREATE TRIGGER history_stamp BEFORE INSERT ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION history_stamp_version()', entity);
        EXECUTE format('CREATE TRIGGER history_stamp_update BEFORE UPDATE ON %s FOR EACH ROW '
                       'WHEN (%s) EXECUTE FUNCTION history_stamp_version()', entity, update_when);
        EXECUTE format('CREATE TRIGGER history_record AFTER INSERT OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION history_record_change(%L, %L)',
                       entity, changes_qualified, fk);
        EXECUTE format('CREATE TRIGGER history_record_update AFTER UPDATE ON %s FOR EACH ROW '
                       'WHEN (%s) EXECUTE FUNCTION history_record_change(%L, %L)',
                       entity, update_when, changes_qualified, fk);
    END IF;
    EXECUTE format('CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION history_refuse()', entity);
    EXECUTE format('CREATE TRIGGER history_append_only BEFORE INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION history_refuse()', changes);
    EXECUTE format('CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION history_refuse()', changes);
    -- ALWAYS: also with session_replication_role = replica (pg_restore, logical replication).
    FOR trig IN
        SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger
        WHERE tgrelid IN (entity, changes) AND NOT tgisinternal AND tgname LIKE 'history\_%'
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', trig.rel, trig.tgname);
    END LOOP;

    INSERT INTO history_entities AS h (entity, changes, fk, update_when)
    VALUES (history_track.entity, history_track.changes, history_track.fk,
            history_track.update_when)
    ON CONFLICT ON CONSTRAINT history_entities_pkey DO UPDATE
    SET changes = excluded.changes, fk = excluded.fk, update_when = excluded.update_when;
END $$;

-- Every table that has the 0001 triggers now (tickets, changelog_releases, and those of other
-- migrations numbered before this one) is converted, with the WHEN condition its update trigger
-- had, if any.
DO $$
DECLARE
    tracked record;
BEGIN
    FOR tracked IN
        SELECT tgrelid::regclass AS entity,
               split_part(encode(tgargs, 'escape'), '\000', 1) AS changes,
               split_part(encode(tgargs, 'escape'), '\000', 2) AS fk,
               max(substring(pg_get_triggerdef(oid) FROM ' WHEN \((.*)\) EXECUTE FUNCTION ')) AS update_when
        FROM pg_trigger
        WHERE tgfoid = 'history_record_change'::regproc AND NOT tgisinternal
        GROUP BY 1, 2, 3
        ORDER BY 1
    LOOP
        PERFORM history_track(tracked.entity, tracked.changes::regclass, tracked.fk::name,
                              tracked.update_when);
    END LOOP;
END $$;
