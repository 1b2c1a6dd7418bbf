#!/usr/bin/env python3
"""scoregate's Delta sink: Kafka (Confluent-framed Avro) → Delta tables, with Spark.

Commands:
  run          Structured Streaming from transactions.scored and transactions.dlq into the
               `scored` and `dead_letters` tables (foreachBatch + MERGE on the record key, so a
               replayed topic never duplicates a row; the checkpoint makes each offset count
               once). --available-now processes what is there and stops (tests, scheduled jobs).
  report       JSON on stdout: row counts, the quality view, and (with --ids) the rows' features.
  training-set The logged features joined with confirmed labels (a `fraud-labels` topic or a
               table), written as the replay CSV that models/pipeline/train.py reads, and the
               transactions as JSON lines (arrival order, for the skew check); the read is
               appended to the access-history tables.

Tables live under --tables: a path (local or cloud storage: path-based Delta tables) or a
catalog schema such as `main.scoregate` (Databricks: managed tables and persistent views).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPARK_VERSION = "4.2.0"
DELTA_VERSION = "4.4.0"
SCALA = "2.13"
PACKAGES = [
    f"io.delta:delta-spark_{SPARK_VERSION.rsplit('.', 1)[0]}_{SCALA}:{DELTA_VERSION}",
    f"org.apache.spark:spark-sql-kafka-0-10_{SCALA}:{SPARK_VERSION}",
    f"org.apache.spark:spark-avro_{SCALA}:{SPARK_VERSION}",
]
SCORED, DLQ, ACCESS, ACCESS_RECORDS = "scored", "dead_letters", "access_history", "access_records"


def log(msg: str) -> None:
    print(f"delta-sink: {msg}", file=sys.stderr, flush=True)


# ---- where the tables are ----------------------------------------------------------------------

class Tables:
    """Names tables either by path (`delta.`/x/scored``) or in a catalog schema (`cat.schema.scored`)."""

    def __init__(self, where: str):
        self.where = where.rstrip("/")
        self.by_path = "://" in where or where.startswith("/") or where.startswith(".")
        if self.by_path and "://" not in where:
            self.where = str(Path(where).resolve())

    def name(self, table: str) -> str:
        return f"delta.`{self.where}/{table}`" if self.by_path else f"{self.where}.{table}"

    def location(self, table: str) -> str:
        return f"{self.where}/{table}" if self.by_path else f"{self.where}.{table}"

    def exists(self, spark, table: str) -> bool:
        if self.by_path:
            from delta.tables import DeltaTable
            return DeltaTable.isDeltaTable(spark, self.location(table))
        return spark.catalog.tableExists(self.location(table))

    def create_from(self, df, table: str, partition: str) -> None:
        w = df.write.format("delta").mode("append").partitionBy(partition)
        if self.by_path:
            w.save(self.location(table))
        else:
            w.saveAsTable(self.location(table))

    def view(self, spark, view: str, sql: str) -> None:
        """A persistent view in a catalog; a session view for path-based tables (no catalog to keep it)."""
        if self.by_path:
            spark.sql(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")
        else:
            spark.sql(f"CREATE OR REPLACE VIEW {self.where}.{view} AS {sql}")

    def view_name(self, view: str) -> str:
        return view if self.by_path else f"{self.where}.{view}"


def spark_session(app: str, master: str | None):
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName(app)
    # On Databricks the runtime brings Spark, Delta, Kafka and Avro; locally they come from Maven
    # Central through ivysettings.xml (Central only) into a cache keyed by the versions.
    if master is not None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local runs stay on loopback
        cache = Path(os.environ.get("SCOREGATE_CACHE", Path.home() / ".cache/scoregate")) / f"ivy-spark{SPARK_VERSION}-delta{DELTA_VERSION}"
        b = (b.master(master)
             .config("spark.jars.packages", ",".join(PACKAGES))
             .config("spark.jars.ivySettings", str(HERE / "ivysettings.xml"))
             .config("spark.jars.ivy", str(cache))
             .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
             .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.default.parallelism", "2")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "1g"))
             .config("spark.sql.session.timeZone", "UTC"))
    # New writer fields (a BACKWARD schema evolution) become new columns through MERGE ... INSERT *.
    b = b.config("spark.databricks.delta.schema.autoMerge.enabled", "true")
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "WARN"))
    return spark


# ---- Confluent wire format ---------------------------------------------------------------------

class SchemaCache:
    """Writer schemas by id, fetched once each from the Confluent-compatible registry."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.by_id: dict[int, str] = {}

    def get(self, schema_id: int) -> str:
        if schema_id not in self.by_id:
            with urllib.request.urlopen(f"{self.url}/schemas/ids/{schema_id}", timeout=30) as r:
                self.by_id[schema_id] = json.loads(r.read())["schema"]
        return self.by_id[schema_id]


def decode(batch, schemas: SchemaCache):
    """Kafka rows → decoded records: the 5-byte header (magic 0, big-endian schema id) is split
    off and each body is read with its own writer schema (Spark's from_avro), so events written
    under older and newer schemas land side by side (unionByName fills missing columns with null)."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro

    framed = batch.select(
        "topic", "partition", "offset", "value",
        F.when(F.hex(F.substring("value", 1, 1)) == F.lit("00"), F.conv(F.hex(F.substring("value", 2, 4)), 16, 10).cast("int")).alias("schema_id"),
    )
    bad = framed.filter(F.col("schema_id").isNull()).count()
    if bad:
        raise ValueError(f"{bad} records are not in the Confluent wire format (magic byte 0)")
    ids = sorted(r.schema_id for r in framed.select("schema_id").distinct().collect())
    parts = []
    for sid in ids:
        rec = from_avro(F.expr("substring(value, 6, length(value) - 5)"), schemas.get(sid), {"mode": "FAILFAST"})
        parts.append(framed.filter(F.col("schema_id") == sid).select(
            rec.alias("r"), "schema_id", F.col("topic").alias("kafka_topic"), F.col("partition").alias("kafka_partition"), F.col("offset").alias("kafka_offset"),
        ).select("r.*", "schema_id", "kafka_topic", "kafka_partition", "kafka_offset"))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p, allowMissingColumns=True)
    return out


def merge(spark, tables: Tables, df, table: str, key_cond: str, partition: str) -> None:
    """Inserts the rows whose key is not in the table yet: replays and at-least-once duplicates
    change nothing, and re-running a batch after a failure is harmless."""
    from delta.tables import DeltaTable

    if not tables.exists(spark, table):
        tables.create_from(df.limit(0), table, partition)
    target = DeltaTable.forPath(spark, tables.location(table)) if tables.by_path else DeltaTable.forName(spark, tables.location(table))
    target.alias("t").merge(df.alias("s"), key_cond).whenNotMatchedInsertAll().execute()


def process_batch(spark, tables: Tables, schemas: SchemaCache, scored_topic: str, dlq_topic: str, batch, batch_id: int) -> None:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    batch = batch.persist()
    try:
        now = F.current_timestamp()
        scored_raw = batch.filter(F.col("topic") == scored_topic)
        if not scored_raw.isEmpty():
            s = decode(scored_raw, schemas).withColumn("ingestedAt", now).withColumn("event_date", F.to_date("timestamp"))
            # One row per transactionId within the batch too (the first offset wins, like the table).
            first = Window.partitionBy("transactionId").orderBy("kafka_partition", "kafka_offset")
            s = s.withColumn("_n", F.row_number().over(first)).filter("_n = 1").drop("_n")
            merge(spark, tables, s, SCORED, "t.event_date = s.event_date AND t.transactionId = s.transactionId", "event_date")
        dlq_raw = batch.filter(F.col("topic") == dlq_topic)
        if not dlq_raw.isEmpty():
            d = decode(dlq_raw, schemas)
            # A dead letter has no trustworthy id of its own: it is keyed by its content and receive
            # time, so the spool's at-least-once resend and a replay both merge into one row.
            d = (d.withColumn("deadLetterId", F.sha2(F.concat_ws("\u0001", "code", F.coalesce("field", F.lit("")), "message", "raw", "source", F.col("receivedAt").cast("long")), 256))
                 .withColumn("transactionId", F.get_json_object("raw", "$.transactionId"))
                 .withColumn("ingestedAt", now).withColumn("event_date", F.to_date("receivedAt")))
            first = Window.partitionBy("deadLetterId").orderBy("kafka_partition", "kafka_offset")
            d = d.withColumn("_n", F.row_number().over(first)).filter("_n = 1").drop("_n")
            merge(spark, tables, d, DLQ, "t.event_date = s.event_date AND t.deadLetterId = s.deadLetterId", "event_date")
        log(f"batch {batch_id}: {batch.count()} records")
    finally:
        batch.unpersist()


def create_views(spark, tables: Tables) -> None:
    if tables.exists(spark, SCORED):
        sql = (HERE / "sql/quality_5m.sql").read_text(encoding="utf8").format(scored=tables.name(SCORED))
        tables.view(spark, "quality_5m", strip_comments(sql))
        if tables.exists(spark, ACCESS):
            sql = (HERE / "sql/record_lineage.sql").read_text(encoding="utf8").format(
                scored=tables.name(SCORED), access=tables.name(ACCESS), access_records=tables.name(ACCESS_RECORDS), location=tables.location(SCORED))
            tables.view(spark, "record_lineage", strip_comments(sql))


def strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def cmd_run(a, spark) -> dict:
    tables = Tables(a.tables)
    schemas = SchemaCache(a.registry)
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", a.brokers)
              .option("subscribe", f"{a.scored_topic},{a.dlq_topic}")
              .option("startingOffsets", a.starting_offsets)
              .option("failOnDataLoss", "true"))
    if a.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(a.max_offsets_per_trigger))
    views = {"made": False}

    def batch(df, bid: int) -> None:
        process_batch(spark, tables, schemas, a.scored_topic, a.dlq_topic, df, bid)
        if not views["made"]:  # once per run, as soon as the tables exist (a continuous job never stops to make them)
            create_views(spark, tables)
            views["made"] = tables.exists(spark, SCORED)

    w = (reader.load().writeStream
         .foreachBatch(batch)
         .option("checkpointLocation", a.checkpoint)
         .queryName("scoregate-delta-sink"))
    w = w.trigger(availableNow=True) if a.available_now else w.trigger(processingTime=a.trigger)
    q = w.start()
    log(f"streaming {a.scored_topic}, {a.dlq_topic} → {a.tables} (checkpoint {a.checkpoint})")
    q.awaitTermination()
    create_views(spark, tables)
    p = q.lastProgress
    return {"batchId": None if p is None else p["batchId"], "rows": None if p is None else p["numInputRows"]}


def cmd_report(a, spark) -> dict:
    tables = Tables(a.tables)
    create_views(spark, tables)
    out: dict = {"scored": 0, "deadLetters": 0, "quality5m": [], "rows": []}
    if tables.exists(spark, SCORED):
        out["scored"] = spark.table(tables.name(SCORED)).count() if not tables.by_path else spark.sql(f"SELECT COUNT(*) c FROM {tables.name(SCORED)}").first().c
        out["distinctIds"] = spark.sql(f"SELECT COUNT(DISTINCT transactionId) c FROM {tables.name(SCORED)}").first().c
        out["partitions"] = [r.event_date.isoformat() for r in spark.sql(f"SELECT DISTINCT event_date FROM {tables.name(SCORED)} ORDER BY 1").collect()]
        out["quality5m"] = [{**r.asDict(), "window_start": r.window_start.isoformat(), "window_end": r.window_end.isoformat(),
                             "total_transaction_value": str(r.total_transaction_value)}
                            for r in spark.sql(f"SELECT * FROM {tables.view_name('quality_5m')} ORDER BY window_start").collect()]
        if a.ids:
            ids = [i for i in a.ids.split(",") if i]
            rows = spark.sql(f"SELECT transactionId, featureContract, features, modelName, modelVersion, sourceSystem, lineage FROM {tables.name(SCORED)}").filter(
                __import__("pyspark.sql.functions", fromlist=["col"]).col("transactionId").isin(ids)).collect()
            out["rows"] = [{"transactionId": r.transactionId, "featureContract": r.featureContract, "features": None if r.features is None else list(r.features.asDict().items()),
                            "modelName": r.modelName, "modelVersion": r.modelVersion, "sourceSystem": r.sourceSystem,
                            "lineage": [{**s.asDict(), "timestamp": s.timestamp.isoformat(), "metrics": dict(s.metrics)} for s in r.lineage]} for r in rows]
    if tables.exists(spark, DLQ):
        out["deadLetters"] = spark.sql(f"SELECT COUNT(*) c FROM {tables.name(DLQ)}").first().c
        out["deadLetterCodes"] = {r.code: r.n for r in spark.sql(f"SELECT code, COUNT(*) n FROM {tables.name(DLQ)} GROUP BY code").collect()}
    if tables.exists(spark, ACCESS):
        out["accessHistory"] = [{**r.asDict(), "read_at": r.read_at.isoformat()} for r in spark.sql(f"SELECT * FROM {tables.name(ACCESS)} ORDER BY read_at").collect()]
        out["recordsWithAccess"] = spark.sql(f"SELECT COUNT(*) c FROM {tables.view_name('record_lineage')} WHERE size(accessHistory) > 0").first().c
    return out


def labels_frame(spark, a):
    """Confirmed outcomes: a topic of JSON {"transactionId", "label"} (the last one per id wins) or a table."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if a.labels_table:
        df = spark.table(a.labels_table).select("transactionId", F.col("label").cast("int").alias("label"))
        return df.dropDuplicates(["transactionId"])
    raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", a.brokers).option("subscribe", a.labels_topic)
           .option("startingOffsets", "earliest").option("endingOffsets", "latest").load())
    parsed = raw.select("partition", "offset", F.from_json(F.col("value").cast("string"), "transactionId STRING, label INT").alias("l")).select("partition", "offset", "l.*")
    last = Window.partitionBy("transactionId").orderBy(F.col("partition").desc(), F.col("offset").desc())
    return parsed.filter("transactionId IS NOT NULL AND label IN (0, 1)").withColumn("_n", F.row_number().over(last)).filter("_n = 1").select("transactionId", "label")


def cmd_training_set(a, spark) -> dict:
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    tables = Tables(a.tables)
    # The read is pinned to one table version (time travel reproduces it exactly).
    dt = DeltaTable.forPath(spark, tables.location(SCORED)) if tables.by_path else DeltaTable.forName(spark, tables.location(SCORED))
    version = dt.history(1).first().version
    scored = (spark.read.format("delta").option("versionAsOf", version).load(tables.location(SCORED)) if tables.by_path
              else spark.read.option("versionAsOf", version).table(tables.location(SCORED)))
    if a.contract:
        scored = scored.filter(F.col("featureContract") == a.contract)
    logged = scored.filter("features IS NOT NULL")
    joined = logged.join(labels_frame(spark, a), "transactionId", "inner")
    # Arrival order: the gateway's receive time, then the Kafka offset (per user, partitions keep it).
    ordered = joined.orderBy("receivedAt", "kafka_partition", "kafka_offset")
    names = [f.name for f in logged.schema["features"].dataType.fields]
    rows = ordered.select("transactionId", "label", "features.*", "userId", F.col("amount").cast("string").alias("amount"), "currency",
                          (F.unix_millis("timestamp")).alias("ts"), "metadata", "merchantId", "channel").collect()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "features.csv", "w", encoding="utf8", newline="") as fh:
        fh.write(",".join(["transactionId", "label", *names]) + "\n")
        for r in rows:
            # repr of the float32 widened to double: reads back as the same float32 (as the replay CLI writes).
            fh.write(",".join([r.transactionId, str(r.label), *(repr(float(r[n])) for n in names)]) + "\n")
    with open(out / "transactions.jsonl", "w", encoding="utf8") as fh:
        for r in rows:
            tx = {"transactionId": r.transactionId, "userId": r.userId, "amount": r.amount, "currency": r.currency, "timestamp": r.ts,
                  "metadata": dict(r.metadata or {}), "label": r.label}
            if r.merchantId is not None:
                tx["merchantId"] = r.merchantId
            if r.channel is not None:
                tx["channel"] = r.channel
            fh.write(json.dumps(tx) + "\n")
    # Access history: one row per read, one row per record read (the seed's per-record accessHistory).
    read_id = str(uuid.uuid4())
    read_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    acc = spark.createDataFrame([(read_id, a.user, "read", a.purpose, tables.location(SCORED), int(version), len(rows), a.filter_text)],
                                "read_id STRING, user STRING, operation STRING, purpose STRING, table_name STRING, table_version LONG, records_accessed LONG, filter_applied STRING"
                                ).withColumn("read_at", F.to_timestamp(F.lit(read_at)))
    recs = ordered.select(F.lit(read_id).alias("read_id"), F.col("transactionId").alias("recordId"))
    for df, t in ((acc, ACCESS), (recs, ACCESS_RECORDS)):
        w = df.write.format("delta").mode("append")
        w.save(tables.location(t)) if tables.by_path else w.saveAsTable(tables.location(t))
    create_views(spark, tables)
    log(f"training set: {len(rows)} labelled rows of {tables.location(SCORED)} version {version} → {out} (read {read_id})")
    return ({"rows": len(rows), "tableVersion": version, "readId": read_id, "features": str(out / "features.csv"),
                      "transactions": str(out / "transactions.jsonl"), "names": names})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", required=True, help="a path for path-based tables, or a catalog schema (main.scoregate)")
    p.add_argument("--master", default=os.environ.get("SPARK_MASTER"), help="local[2] to run locally (fetches the jars); leave unset on Databricks")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--brokers", required=True)
    r.add_argument("--registry", required=True, help="Confluent-compatible registry URL (Apicurio: …/apis/ccompat/v7)")
    r.add_argument("--scored-topic", default="transactions.scored")
    r.add_argument("--dlq-topic", default="transactions.dlq")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--starting-offsets", default="earliest")
    r.add_argument("--trigger", default="10 seconds")
    r.add_argument("--max-offsets-per-trigger", type=int, default=0)
    r.add_argument("--available-now", action="store_true", help="process what the topics hold now, then stop")
    rp = sub.add_parser("report")
    rp.add_argument("--ids", default="", help="comma-separated transactionIds whose rows to print")
    t = sub.add_parser("training-set")
    t.add_argument("--out", required=True)
    t.add_argument("--brokers")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--labels-topic", help="topic of JSON {transactionId, label}")
    src.add_argument("--labels-table", help="table with transactionId, label")
    t.add_argument("--contract", help="only rows logged under this feature contract version")
    t.add_argument("--user", default="ml_training_pipeline")
    t.add_argument("--purpose", default="model_training")
    t.add_argument("--filter-text", default="features IS NOT NULL AND labelled")
    sub.add_parser("session", help="one Spark session for many commands: each stdin line is a JSON argv list "
                                   "(after --tables), each answer a JSON line on stdout (tests: one JVM start, not one per step)")
    return p


COMMANDS = {"run": cmd_run, "report": cmd_report, "training-set": cmd_training_set}


def main(argv: list[str] | None = None) -> int:
    p = parser()
    a = p.parse_args(argv)
    spark = spark_session(f"scoregate-delta-{a.cmd}", a.master)
    try:
        if a.cmd != "session":
            print(json.dumps(COMMANDS[a.cmd](check(p, a), spark), default=str), flush=True)
            return 0
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                c = p.parse_args(["--tables", a.tables, *json.loads(line)])
                res = {"ok": True, "result": COMMANDS[c.cmd](check(p, c), spark)}
            except SystemExit as e:  # argparse said why on stderr
                res = {"ok": False, "error": f"bad arguments {line.strip()} (exit {e.code}; see stderr)"}
            except Exception as e:  # one failed command does not end the session
                res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            print(json.dumps(res, default=str), flush=True)
    finally:
        if a.master is not None:
            spark.stop()
    return 0


def check(p: argparse.ArgumentParser, a: argparse.Namespace) -> argparse.Namespace:
    if a.cmd == "training-set" and a.labels_topic and not a.brokers:
        p.error("--labels-topic needs --brokers")
    return a


if __name__ == "__main__":
    sys.exit(main())
