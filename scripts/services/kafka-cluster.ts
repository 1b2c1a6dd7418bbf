// Test helper: three KRaft nodes (each broker and controller) and Apicurio on loopback, the
// seed's replication: replication factor 3, min.insync.replicas 2, the offsets and transaction
// topics likewise (scripts/services/kafka-start.sh with KAFKA_NODES=3).
//
//   const svc = await startKafkaCluster();
//   // svc.kafkaBrokers = '127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3'
//   await svc.killKafka(2);    // SIGKILL node 2 (the other two keep the quorum and the ISR)
//   await svc.restartKafka(2); // same ports and data; resolves once it answers and sees all three
//   await svc.stop();
import { startServices, type Services, type StartServicesOptions } from './services.js';

/** The replication the cluster's topics get (what a gateway's KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS should say). */
export const CLUSTER_REPLICATION = { factor: 3, minInsync: 2 } as const;

export function startKafkaCluster(opts: StartServicesOptions = {}): Promise<Services> {
  // 2 cores and three JVMs besides the gateways: small heaps (24 GiB of RAM is not the limit).
  return startServices({ ...opts, kafkaNodes: 3, env: { KAFKA_HEAP_OPTS: '-Xms96m -Xmx384m', KAFKA_START_TIMEOUT: '180', ...opts.env } });
}
