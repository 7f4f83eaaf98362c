-- Erasures whose deleted data key may still sit in participant_keys' files: PostgreSQL leaves a
-- deleted row's bytes in the table's pages until the table is rewritten (VACUUM FULL), which
-- cannot run in the transaction that deletes the key. A row is added in that transaction and
-- removed once the table has been rewritten; what is left here is retried at the next start.
CREATE TABLE erased_key_cleanup
(
    id           bigserial PRIMARY KEY,
    requested_at text NOT NULL
);

-- Keys deleted before this table existed were only ever removed by (auto)vacuum, which leaves
-- their bytes in the pages: rewrite the table once at the next start.
INSERT INTO erased_key_cleanup (requested_at)
SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
WHERE EXISTS (SELECT 1 FROM events WHERE event_type = 'participant_erased');
