-- The seed's §2 lineage record per scored transaction: recordId, sourceSystem,
-- ingestionTimestamp, the transformations scoregate measured, where the record lives now, and
-- its access history (every read of it by the training pipeline, from the access tables).
-- {scored}, {access} and {access_records} are the tables; {location} names this table.
SELECT
  s.transactionId AS recordId,
  s.sourceSystem,
  s.receivedAt AS ingestionTimestamp,
  s.lineage AS transformations,
  '{location}' AS currentLocation,
  COALESCE(
    array_sort(collect_list(CASE WHEN a.read_id IS NOT NULL THEN named_struct('timestamp', a.read_at, 'user', a.user, 'operation', a.operation, 'purpose', a.purpose, 'tableVersion', a.table_version) END)),
    array()) AS accessHistory
FROM {scored} s
LEFT JOIN {access_records} r ON r.recordId = s.transactionId
LEFT JOIN {access} a ON a.read_id = r.read_id
GROUP BY s.transactionId, s.sourceSystem, s.receivedAt, s.lineage
