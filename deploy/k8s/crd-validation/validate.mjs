// Reads a JSON array of Kubernetes objects on stdin and checks each operator custom resource
// against its CRD's openAPIV3 schema, as compiled into the @kubernetes-models packages (MIT):
// strimzi-kafka-operator 1.0.1 is generated from Strimzi 0.49.0's CRDs, prometheus-operator 6.0.0
// from the Prometheus Operator's. Prints {"validated": [...], "errors": [...], "unknown": [...]}:
// "unknown" lists kinds that no package here has a schema for.
import { Kafka } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/Kafka";
import { KafkaNodePool } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaNodePool";
import { KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const MODELS = [Kafka, KafkaNodePool, KafkaTopic, PrometheusRule, ServiceMonitor];
const byType = new Map(MODELS.map((model) => [`${model.apiVersion}/${model.kind}`, model]));

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const report = { validated: [], errors: [], unknown: [] };
for (const object of JSON.parse(Buffer.concat(chunks).toString("utf8"))) {
  const name = `${object.apiVersion}/${object.kind}/${object.metadata?.name}`;
  const Model = byType.get(`${object.apiVersion}/${object.kind}`);
  if (!Model) {
    report.unknown.push(name);
    continue;
  }
  try {
    new Model(object).validate();
    report.validated.push(name);
  } catch (error) {
    report.errors.push(`${name}: ${error.message}`);
  }
}
process.stdout.write(JSON.stringify(report));
