#!/usr/bin/env bash
# Fetch Apache Kafka (jars, via Maven) and Apicurio Registry (Quarkus app) into
# <repo>/.cache/services. Idempotent: a second run with everything present does
# nothing (no mvn invocation).
#
# Env overrides: KAFKA_VERSION, APICURIO_VERSION, LOG4J_VERSION, SLF4J_VERSION, MVN (mvn binary),
#                SERVICES_CACHE (default <repo>/.cache/services)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

MVN="${MVN:-mvn}"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

mkdir -p "$SERVICES_CACHE"

fetch_kafka() {
  local dest="$KAFKA_HOME"
  if [[ -f "$dest/.complete" ]]; then
    return 0
  fi
  log "fetching Kafka $KAFKA_VERSION (+ log4j $LOG4J_VERSION) into $dest"
  local work="$SERVICES_CACHE/.build-kafka-$KAFKA_VERSION"
  rm -rf "$work" "$dest"
  mkdir -p "$work"
  cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.scoregate</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- Kafka's poms pin slf4j-api 1.7.x; the log4j2 binding needs the 2.x API -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  "$MVN" -B -q -Dstyle.color=never -f "$work/pom.xml" \
    "$DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime \
    -DoutputDirectory="$work/libs" >"$SERVICES_CACHE/mvn-kafka.log" 2>&1 \
    || { cat "$SERVICES_CACHE/mvn-kafka.log" >&2; die "mvn failed fetching Kafka $KAFKA_VERSION"; }
  mv "$work" "$dest"
  rm -f "$dest/pom.xml"
  touch "$dest/.complete"
  log "Kafka ready: $(ls "$dest/libs" | wc -l) jars"
}

fetch_apicurio() {
  local dest="$APICURIO_HOME"
  if [[ -f "$dest/.complete" ]]; then
    return 0
  fi
  log "fetching Apicurio Registry $APICURIO_VERSION into $dest"
  local work="$SERVICES_CACHE/.build-apicurio-$APICURIO_VERSION"
  rm -rf "$work" "$dest"
  mkdir -p "$work"
  # run outside any project so no stray pom.xml in $PWD is picked up
  (cd "$work" && "$MVN" -B -q -Dstyle.color=never "$DEP_PLUGIN:copy" \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$work" \
    -Dmdep.stripVersion=false) >"$SERVICES_CACHE/mvn-apicurio.log" 2>&1 \
    || { cat "$SERVICES_CACHE/mvn-apicurio.log" >&2; die "mvn failed fetching Apicurio $APICURIO_VERSION"; }
  local tgz
  tgz="$(ls "$work"/*.tar.gz)"
  mkdir -p "$work/app"
  tar -xzf "$tgz" -C "$work/app"
  rm -f "$tgz"
  # The tarball may wrap everything in a top-level dir; locate quarkus-run.jar.
  local runjar
  runjar="$(find "$work/app" -name quarkus-run.jar -print -quit)"
  if [[ -z "$runjar" ]]; then
    die "quarkus-run.jar not found in apicurio-registry-app tarball"
  fi
  local appdir
  appdir="$(dirname "$runjar")"
  mv "$appdir" "$dest"
  rm -rf "$work"
  touch "$dest/.complete"
  log "Apicurio ready: $dest/quarkus-run.jar"
}

# Fast path: nothing to do (no lock, no mvn).
if [[ -f "$KAFKA_HOME/.complete" && -f "$APICURIO_HOME/.complete" ]]; then
  exit 0
fi
# Serialise concurrent fetches (e.g. parallel test workers).
exec 9>"$SERVICES_CACHE/.fetch.lock"
flock 9
fetch_kafka
fetch_apicurio
