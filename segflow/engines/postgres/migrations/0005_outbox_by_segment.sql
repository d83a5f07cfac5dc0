-- The dashboard's tag-sync section reads a segment's daily-sync operations by status; the outbox
-- keeps done operations, so without this index that read scans every operation ever queued.
CREATE INDEX tag_outbox_segment ON segflow.tag_outbox (segment_id, status) WHERE action_id IS NULL;
