-- Attachment content may be stored LZ4-compressed (src/store/blob.rs), before the transaction
-- begins. Rows stored before this migration are as uploaded. New values are kept out of line
-- without PostgreSQL compressing them again (it would try, and gain nothing on LZ4 output).
alter table attachment add column encoding text not null default 'identity'
    check (encoding in ('identity', 'lz4'));
alter table attachment alter column content set storage external;
