-- Attachment content may be stored LZ4-compressed (src/store/blob.rs): a log shrinks several
-- times over, and every 4 KiB a ticket's transaction writes is a WAL frame inside SQLite's one
-- write lock. Rows stored before this migration are as uploaded.
alter table attachment add column encoding text not null default 'identity'
    check (encoding in ('identity', 'lz4'));
