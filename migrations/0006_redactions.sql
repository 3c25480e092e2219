-- phase: expand
-- Privacy (issue 4): what each stored event lost to redaction, as types and counts, never values
-- ({"EMAIL": 2, "IP_ADDRESS": 1}; {} when nothing was found). The worker enriches and redacts
-- every event before it writes it (streams/sanitize.py); NULL marks rows written before this
-- column existed. A ticket's column is its latest event's record, with history like any column.

ALTER TABLE log_events ADD COLUMN redactions jsonb;
ALTER TABLE commits ADD COLUMN redactions jsonb;
ALTER TABLE ticket_events ADD COLUMN redactions jsonb;
ALTER TABLE tickets ADD COLUMN redactions jsonb;
