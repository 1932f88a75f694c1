-- FerretDB 1.x filters a field by JSONB containment, `_jsonb -> 'field' @> value`, which the
-- btree indexes it creates cannot serve: every filtered read or update scans the collection
-- (DESIGN.md measured update_one by _id at 51/s with 50k documents). PostgreSQL's GIN indexes
-- serve `@>`. This gives each of FerretDB's indexes a GIN twin on the same expressions, now
-- for the indexes that exist and, through an event trigger, for every index created later,
-- so an equality filter on `_id` or on any indexed field is an index lookup, as on MongoDB.
-- Run by `python -m services.devstack up` on every start; safe to run again.

CREATE OR REPLACE FUNCTION devstack_containment_twin(btree regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target regclass;
    columns int;
    expression text;
BEGIN
    SELECT indrelid, indnkeyatts INTO target, columns FROM pg_index WHERE indexrelid = btree;
    FOR n IN 1..columns LOOP
        expression := pg_get_indexdef(btree, n, true);
        CONTINUE WHEN expression NOT LIKE '(_jsonb %';
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s) WITH (fastupdate = off)',
            left((SELECT relname FROM pg_class WHERE oid = btree), 56) || '_gin' || n,
            target,
            expression
        );
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION devstack_containment_twins() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    created record;
BEGIN
    FOR created IN
        SELECT c.objid FROM pg_event_trigger_ddl_commands() c
        JOIN pg_class i ON i.oid = c.objid JOIN pg_am a ON a.oid = i.relam
        WHERE c.command_tag = 'CREATE INDEX' AND a.amname = 'btree'
    LOOP
        PERFORM devstack_containment_twin(created.objid::regclass);
    END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS devstack_containment_twins;
CREATE EVENT TRIGGER devstack_containment_twins ON ddl_command_end
    WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION devstack_containment_twins();

-- Indexes FerretDB created before this file was first applied.
DO $$
DECLARE
    btree regclass;
BEGIN
    FOR btree IN
        SELECT i.indexrelid FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
        JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE a.amname = 'btree' AND s.nspname NOT LIKE 'pg\_%'
            AND s.nspname <> 'information_schema'
    LOOP
        PERFORM devstack_containment_twin(btree);
    END LOOP;
END $$;
