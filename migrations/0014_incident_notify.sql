-- phase: expand
-- GraphQL subscriptions for incidents (issue 10): one notification per incident change, carrying
-- only keys, like the ticket changes of 0013. The API reads the change and masks it per
-- subscriber.

CREATE FUNCTION notify_incident_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('opsassist_incident_changes',
                      json_build_object('incident_id', NEW.incident_id, 'version', NEW.version)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER incident_changes_notify AFTER INSERT ON incident_changes
    FOR EACH ROW EXECUTE FUNCTION notify_incident_change();
