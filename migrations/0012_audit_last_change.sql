-- Who last changed a grid or a worker (the "changed by" of a 412) is found through indexes,
-- not by scanning the audit log backwards: an entry names its entity (entity, entity_id), or
-- lists it among the grids or workers of its after-state (a paint names its target and
-- changes the donors too). The expression indexes hold only those ids, not the states (which
-- carry whole geometries), so they stay small and cheap to keep on every write.
DROP INDEX audit_log_entity;
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_after_grids ON audit_log
    USING gin (jsonb_path_query_array(after, '$.grids[*].id') jsonb_path_ops);
CREATE INDEX audit_log_after_workers ON audit_log
    USING gin (jsonb_path_query_array(after, '$.workers[*].id') jsonb_path_ops);
