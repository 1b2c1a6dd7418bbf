-- The seed's §5.3 data-quality view over the scored table, in five-minute windows of processing
-- time (scoredAt: when scoregate scored the transaction). {scored} is the scored table.
-- total_transaction_value adds amounts across currencies, as the seed's query does.
SELECT
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS total_records,
  SUM(CASE WHEN qualityScore >= 0.9 THEN 1 ELSE 0 END) / COUNT(*) * 100 AS quality_percentage,
  AVG(score) AS avg_fraud_score,
  COUNT(DISTINCT userId) AS unique_users,
  SUM(amount) AS total_transaction_value
FROM {scored}
GROUP BY window(scoredAt, '5 minutes')
