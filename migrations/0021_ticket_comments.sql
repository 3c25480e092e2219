-- phase: expand
-- Ticket conversations (issue 29): the comments of GitHub issues and GitLab notes, one row per
-- comment, keyed by its ticket and its id in the source system so that a redelivered or replayed
-- comment event writes it once. An edit or a deletion in the source replaces the row when it is
-- newer (events may arrive late); a deleted comment keeps its row, flagged, so that a late
-- "created" delivery cannot bring it back. The body is stored redacted, as the ticket's is.

CREATE TABLE ticket_comments (
    source_system  text NOT NULL,
    external_id    text NOT NULL,
    comment_id     text NOT NULL,
    author_id      text,
    body           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted        boolean NOT NULL DEFAULT false,
    -- the ticket event that wrote the row's current state
    event_id       text NOT NULL,
    PRIMARY KEY (source_system, external_id, comment_id),
    FOREIGN KEY (source_system, external_id)
        REFERENCES tickets (source_system, external_id) ON DELETE CASCADE
);

CREATE INDEX ticket_comments_in_order ON ticket_comments (source_system, external_id, created_at);
