-- Status-list entries are handed out in a keyed random order, so a certificate's
-- index tells nothing of when it was issued or which certificates were issued with
-- it (W3C Bitstring Status List, privacy considerations). The key is secret: the list
-- itself is public. Lists made before have none and keep handing out in order.
ALTER TABLE ecert_status_lists ADD COLUMN index_key BLOB;
