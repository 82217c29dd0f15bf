// The Kubernetes manifests (deploy/k8s and its overlays): every object valid against the Kubernetes
// schemas (kubernetes-models; the Prometheus Operator's for the PodMonitor), and consistent with
// Sluice: settings it knows, probes it serves, a grace period longer than the drain bound, hardened
// containers, disruption budgets, Services, the PodMonitor, autoscalers and the network policy
// aimed at the deployments and ports that exist, on metrics Sluice exports.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { loadSettings, SETTINGS } from '@sluice/config';
import { Mapping } from '@sluice/core';
import { METRIC } from '@sluice/runtime';
import { compileServeOptions } from '@sluice/serve';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/stack.ts';

const DIR = `${repoRoot}deploy/k8s`;
type Doc = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

function load(): Map<string, Doc[]> {
  const files = new Map<string, Doc[]>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml'))) {
    const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
      assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Doc;
    });
    files.set(file, docs);
  }
  return files;
}

const MODELS: Record<string, new (doc: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/Service': Service,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

const files = load();
const all = [...files.entries()]
  .filter(([file]) => file !== 'kustomization.yaml')
  .flatMap(([, docs]) => docs);
const byKind = <T = Doc>(kind: string): T[] => all.filter((d) => d.kind === kind) as unknown as T[];
type Data = { metadata: { name: string }; data: Record<string, string> };
const configMap = (name: string): Data => {
  const found = byKind<Data>('ConfigMap').find((c) => c.metadata.name === name);
  assert.ok(found, `ConfigMap ${name}`);
  return found;
};

test('every object is valid against the Kubernetes schema', () => {
  assert.ok(all.length >= 7);
  for (const doc of all) {
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    assert.ok(Model, `no schema for ${doc.apiVersion}/${doc.kind}`);
    assert.doesNotThrow(() => new Model(doc as never).validate(), `${doc.kind} ${doc.metadata.name}`);
  }
  const kustomization = files.get('kustomization.yaml')?.[0] as unknown as { resources: string[] };
  for (const resource of kustomization.resources) assert.ok(files.has(resource), `${resource} exists`);
});

test('the settings ConfigMap only holds settings Sluice knows, and they load', () => {
  const settings = configMap('sluice-settings');
  const known = new Set(
    Object.values(SETTINGS).flatMap((s) => (s.secret ? [s.env, `${s.env}_FILE`] : [s.env])),
  );
  for (const key of Object.keys(settings.data)) {
    assert.ok(known.has(key) || key === 'NODE_OPTIONS', `${key} is not a Sluice setting`);
  }
  // Load them as a pod would, with the example Secret's values as the mounted files.
  const secret = byKind<{ stringData: Record<string, string> }>('Secret')[0] ?? { stringData: {} };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-k8s-'));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings.data)) {
    if (key.endsWith('_FILE')) {
      const file = join(dir, value.split('/').pop() as string);
      writeFileSync(file, secret.stringData[value.split('/').pop() as string] ?? '');
      env[key] = file;
    } else env[key] = value;
  }
  const loaded = loadSettings({ env: { ...env, SLUICE_MAPPING_FILE: '' } });
  assert.equal(loaded.shards, 16);
  assert.match(loaded.metaMysqlUrl ?? '', /^mysql:/);
  const mapping = configMap('sluice-mapping');
  assert.doesNotThrow(
    () => new Mapping(parseAllDocuments(mapping.data['mapping.yaml'] ?? '')[0]?.toJS() ?? {}),
  );
});

test('deployments: probes Sluice serves, grace period above the drain bound, budgets that select them', () => {
  const settings = configMap('sluice-settings');
  const drainSeconds = Number(settings.data.SLUICE_DRAIN_TIMEOUT_MS) / 1000;
  const deployments = byKind<{
    metadata: { name: string };
    spec: {
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          terminationGracePeriodSeconds: number;
          containers: Array<{
            command?: string[];
            args: string[];
            ports: Array<{ name: string; containerPort: number }>;
            env: Array<{ name: string; value: string }>;
            livenessProbe: { httpGet: { path: string; port: string } };
            readinessProbe: { httpGet: { path: string; port: string } };
          }>;
        };
      };
    };
  }>('Deployment');
  assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ['sluice-ingest', 'sluice-worker']);
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    assert.ok(pod.terminationGracePeriodSeconds >= drainSeconds + 5, `${d.metadata.name} grace period`);
    const [container] = pod.containers;
    assert.ok(container);
    // The image's entrypoint (`sluice`, deploy/image/Dockerfile) runs; the manifest names the role.
    assert.equal(container.command, undefined, `${d.metadata.name} keeps the image's entrypoint`);
    assert.deepEqual(container.args, [d.metadata.name.replace('sluice-', '')]);
    assert.equal(container.livenessProbe.httpGet.path, '/health/live');
    assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
    const port = container.ports.find((p) => p.name === container.readinessProbe.httpGet.port);
    assert.equal(
      String(port?.containerPort),
      container.env.find((e) => e.name === 'SLUICE_HTTP_PORT')?.value,
    );
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
      assert.equal(d.spec.template.metadata.labels[k], v);
    const budget = byKind<{ spec: { selector: { matchLabels: Record<string, string> } } }>(
      'PodDisruptionBudget',
    ).find(
      (p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(d.spec.selector.matchLabels),
    );
    assert.ok(budget, `a PodDisruptionBudget selects ${d.metadata.name}`);
  }
});

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } };
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: Array<{
          podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } };
        }>;
      };
    };
    volumes: Array<{ name: string; emptyDir?: unknown }>;
    containers: Array<{
      ports: Array<{ name: string; containerPort: number }>;
      securityContext: {
        allowPrivilegeEscalation: boolean;
        readOnlyRootFilesystem: boolean;
        capabilities: { drop: string[] };
      };
      startupProbe: { httpGet: { path: string; port: string } };
      volumeMounts: Array<{ name: string; mountPath: string }>;
    }>;
  };
}
type DeploymentDoc = { metadata: { name: string }; spec: { replicas: number; template: PodTemplate } };
const deploymentsIn = (docs: Doc[]) =>
  docs.filter((d) => d.kind === 'Deployment') as unknown as DeploymentDoc[];
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('pods run hardened: non-root, RuntimeDefault seccomp, no privilege escalation, read-only root with /tmp, no capabilities, a startup probe, spread over nodes', () => {
  for (const d of deploymentsIn(all)) {
    const pod = d.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true, d.metadata.name);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', d.metadata.name);
    const [container] = pod.containers;
    assert.ok(container);
    assert.deepEqual(
      [
        container.securityContext.allowPrivilegeEscalation,
        container.securityContext.readOnlyRootFilesystem,
        container.securityContext.capabilities.drop,
      ],
      [false, true, ['ALL']],
      d.metadata.name,
    );
    const tmp = container.volumeMounts.find((m) => m.mountPath === '/tmp');
    assert.ok(
      tmp && pod.volumes.find((v) => v.name === tmp.name)?.emptyDir,
      `${d.metadata.name}: /tmp is an emptyDir`,
    );
    assert.equal(container.startupProbe.httpGet.path, '/health/live');
    assert.ok(container.ports.some((p) => p.name === container.startupProbe.httpGet.port));
    const spread =
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]?.podAffinityTerm;
    assert.equal(spread?.topologyKey, 'kubernetes.io/hostname');
    assert.ok(
      spread && selects(spread.labelSelector.matchLabels, d.spec.template.metadata.labels),
      'spreads its own pods',
    );
  }
});

test('Services, the PodMonitor, the autoscalers and the network policy aim at deployments, ports and metrics that exist', () => {
  const pods = deploymentsIn(all).map((d) => ({ name: d.metadata.name, template: d.spec.template }));
  const portNames = (t: PodTemplate) => t.spec.containers.flatMap((c) => c.ports.map((p) => p.name));
  const services = byKind<{
    metadata: { name: string };
    spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> };
  }>('Service');
  assert.deepEqual(services.map((s) => s.metadata.name).sort(), ['sluice-ingest', 'sluice-worker']);
  for (const svc of services) {
    const target = pods.find((p) => selects(svc.spec.selector, p.template.metadata.labels));
    assert.equal(target?.name, svc.metadata.name, `${svc.metadata.name} selects its deployment`);
    for (const port of svc.spec.ports) assert.ok(portNames(target.template).includes(port.targetPort));
  }
  const [monitor] = byKind<{
    spec: {
      selector: { matchLabels: Record<string, string> };
      podMetricsEndpoints: Array<{ port: string; path: string }>;
    };
  }>('PodMonitor');
  assert.ok(monitor);
  for (const pod of pods) {
    assert.ok(
      selects(monitor.spec.selector.matchLabels, pod.template.metadata.labels),
      `the PodMonitor scrapes ${pod.name}`,
    );
    for (const endpoint of monitor.spec.podMetricsEndpoints) {
      assert.ok(portNames(pod.template).includes(endpoint.port));
      assert.equal(endpoint.path, '/metrics');
    }
  }
  const exported = new Set<string>(Object.values(METRIC));
  const scalers = byKind<{
    spec: {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: Array<{ pods: { metric: { name: string } } }>;
    };
  }>('HorizontalPodAutoscaler');
  assert.deepEqual(scalers.map((h) => h.spec.scaleTargetRef.name).sort(), ['sluice-ingest', 'sluice-worker']);
  for (const hpa of scalers) {
    assert.equal(hpa.spec.scaleTargetRef.kind, 'Deployment');
    assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
    for (const m of hpa.spec.metrics)
      assert.ok(exported.has(m.pods.metric.name), `${m.pods.metric.name} is exported`);
  }
  assert.ok(
    (scalers.find((h) => h.spec.scaleTargetRef.name === 'sluice-worker')?.spec.maxReplicas ?? 99) <= 16,
    'no more workers than shards',
  );
  const [policy] = byKind<{
    spec: {
      podSelector: { matchLabels: Record<string, string> };
      ingress: Array<{ ports: Array<{ port: string }> }>;
    };
  }>('NetworkPolicy');
  assert.ok(policy);
  for (const pod of pods) {
    assert.ok(selects(policy.spec.podSelector.matchLabels, pod.template.metadata.labels));
    for (const rule of policy.spec.ingress)
      for (const p of rule.ports) assert.ok(portNames(pod.template).includes(p.port));
  }
});

/** A kustomize overlay's output, for what these overlays use: the base's resources and JSON patches (replace). */
function build(overlay: string): Doc[] {
  const dir = join(DIR, 'overlays', overlay);
  const kustomization = parseAllDocuments(
    readFileSync(join(dir, 'kustomization.yaml'), 'utf8'),
  )[0]?.toJS() as {
    resources: string[];
    patches: Array<{ target: { kind: string; name?: string }; patch: string }>;
  };
  assert.deepEqual(kustomization.resources, ['../..'], `${overlay} builds on the base`);
  const docs = structuredClone(all);
  for (const { target, patch } of kustomization.patches) {
    const targets = docs.filter(
      (d) => d.kind === target.kind && (!target.name || d.metadata.name === target.name),
    );
    assert.ok(
      targets.length > 0,
      `${overlay}: a patch of ${target.kind} ${target.name ?? ''} finds its object`,
    );
    const ops = parseAllDocuments(patch)[0]?.toJS() as Array<{ op: string; path: string; value: unknown }>;
    for (const doc of targets) {
      for (const { op, path, value } of ops) {
        assert.equal(op, 'replace');
        const keys = path.split('/').slice(1);
        const last = keys.pop() as string;
        let node = doc as Record<string, unknown>;
        for (const key of keys) node = node[key] as Record<string, unknown>;
        assert.ok(node && last in node, `${overlay}: ${doc.kind} ${doc.metadata.name} has ${path}`);
        node[last] = value;
      }
    }
  }
  return docs;
}

test('the dev and prod overlays patch objects and fields that exist, and stay valid', () => {
  // (without-kafka adds objects and merges settings: its own test below)
  for (const overlay of ['dev', 'prod']) {
    const docs = build(overlay);
    for (const doc of docs) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      assert.ok(Model);
      assert.doesNotThrow(
        () => new Model(doc as never).validate(),
        `${overlay}: ${doc.kind} ${doc.metadata.name}`,
      );
    }
  }
  const replicas = (overlay: string) =>
    Object.fromEntries(deploymentsIn(build(overlay)).map((d) => [d.metadata.name, d.spec.replicas]));
  assert.deepEqual(replicas('dev'), { 'sluice-ingest': 1, 'sluice-worker': 1 });
  assert.deepEqual(replicas('prod'), { 'sluice-ingest': 3, 'sluice-worker': 4 });
});

test('the overlays are dev, prod, with-cache and without-kafka', () => {
  assert.deepEqual(readdirSync(join(DIR, 'overlays')).sort(), ['dev', 'prod', 'with-cache', 'without-kafka']);
});

/** An overlay that adds objects: its files parsed, its resources and patches present, its objects valid. */
function readOverlay(name: string): Map<string, Doc[]> {
  const dir = `${DIR}/overlays/${name}`;
  const overlay = new Map<string, Doc[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    overlay.set(
      file,
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
        assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
        return d.toJS() as Doc;
      }),
    );
  }
  const kustomization = overlay.get('kustomization.yaml')?.[0] as unknown as {
    resources: string[];
    patches: Array<{ path: string }>;
  };
  for (const resource of kustomization.resources.filter((r) => r !== '../..')) {
    assert.ok(overlay.has(resource), `${resource} exists`);
    for (const doc of overlay.get(resource) ?? []) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      assert.ok(Model, `no schema for ${doc.apiVersion}/${doc.kind}`);
      assert.doesNotThrow(() => new Model(doc as never).validate(), `${doc.kind} ${doc.metadata.name}`);
    }
  }
  for (const patch of kustomization.patches) assert.ok(overlay.has(patch.path), `${patch.path} exists`);
  return overlay;
}

type Container = {
  args: string[];
  env: Array<{ name: string; value: string }>;
  readinessProbe: { httpGet: { path: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
};

/** The overlay's Deployment of a role: hardened, ready by /health/ready, with a budget; its container. */
function hardenedDeployment(docs: Doc[], name: string, role: string) {
  const deployment = deploymentsIn(docs).find((d) => d.metadata.name === name);
  assert.ok(deployment, `${name} exists`);
  const pod = deployment.spec.template.spec;
  const container = pod?.containers[0] as unknown as Container;
  assert.deepEqual(container.args, [role]);
  assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
  assert.deepEqual(
    [container.securityContext.readOnlyRootFilesystem, container.securityContext.allowPrivilegeEscalation],
    [true, false],
  );
  assert.equal(pod?.securityContext.runAsNonRoot, true);
  const budget = docs.find((d) => d.kind === 'PodDisruptionBudget') as unknown as {
    spec: { selector: { matchLabels: Record<string, string> } };
  };
  assert.ok(
    budget && selects(budget.spec.selector.matchLabels, deployment.spec.template.metadata.labels ?? {}),
  );
  return { deployment, container };
}

/**
 * The base settings with the overlay's merged in, and a container's own env, loaded as the service
 * would load them (the example Secret's values as the mounted files).
 */
function overlaySettings(overlay: Map<string, Doc[]>, container: Container) {
  const patch = (overlay.get('settings.yaml')?.[0] as unknown as Data | undefined)?.data ?? {};
  const data = { ...configMap('sluice-settings').data, ...patch };
  const secret = byKind<{ stringData: Record<string, string> }>('Secret')[0] ?? { stringData: {} };
  const files = mkdtempSync(join(tmpdir(), 'sluice-k8s-overlay-'));
  const env: Record<string, string> = {};
  for (const [key, value] of [
    ...Object.entries(data),
    ...container.env.map((e) => [e.name, e.value] as [string, string]),
  ]) {
    if (key.endsWith('_FILE') && key !== 'SLUICE_MAPPING_FILE') {
      const name = value.split('/').pop() as string;
      assert.ok(secret.stringData[name] !== undefined, `the example Secret has ${name}`);
      writeFileSync(join(files, name), secret.stringData[name] ?? '');
      env[key] = join(files, name);
    } else env[key] = value;
  }
  return loadSettings({ env: { ...env, SLUICE_MAPPING_FILE: '' } });
}

test('the overlay without Kafka: a valid, hardened relay Deployment with its budget, and settings that load for the Redis Stream path', () => {
  const overlay = readOverlay('without-kafka');
  const docs = overlay.get('relay.yaml') ?? [];
  const { deployment, container } = hardenedDeployment(docs, 'sluice-relay', 'relay');
  assert.ok((deployment.spec.replicas ?? 0) >= 2, 'a standby beside the active relay');
  const loaded = overlaySettings(overlay, container);
  assert.equal(loaded.sourceKind, 'redis-stream');
  assert.match(loaded.streamRedisUrl ?? '', /^redis:/);
  assert.equal(loaded.canalPassword, 'CHANGE-ME');
  assert.match(loaded.canalAddress ?? '', /:11111$/);
});

test('the overlay with the row cache: a valid, hardened serve Deployment, its Service and reader policy, ingest invalidating', () => {
  const overlay = readOverlay('with-cache');
  const docs = overlay.get('serve.yaml') ?? [];
  const { deployment, container } = hardenedDeployment(docs, 'sluice-serve', 'serve');
  const labels = deployment.spec.template.metadata.labels ?? {};
  const service = docs.find((d) => d.kind === 'Service') as unknown as {
    spec: { selector: Record<string, string>; ports: Array<{ port: number }> };
  };
  assert.ok(selects(service.spec.selector, labels), 'the Service selects the serve pods');
  const policy = docs.find((d) => d.kind === 'NetworkPolicy') as unknown as {
    spec: { podSelector: { matchLabels: Record<string, string> } };
  };
  assert.ok(selects(policy.spec.podSelector.matchLabels, labels), 'the reader policy selects the serve pods');
  const loaded = overlaySettings(overlay, container);
  assert.equal(loaded.cacheInvalidation, true, 'ingest invalidates (the settings are every pod’s)');
  const options = compileServeOptions(loaded);
  assert.match(options.sourceMysqlUrl, /^mysql:/);
  assert.equal(options.http.port, service.spec.ports[0]?.port);
  assert.ok(options.cache.l2TtlMs <= 3_600_000);
});

test('the load test Job: valid, Indexed, one generator per index, each reporting under the run, with settings that load', () => {
  const docs = parseAllDocuments(readFileSync(join(DIR, 'loadtest', 'job.yaml'), 'utf8')).map(
    (d) => d.toJS() as Doc,
  );
  const job = docs[0] as unknown as {
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      template: {
        spec: { restartPolicy: string; containers: Container[]; securityContext: { runAsNonRoot: boolean } };
      };
    };
  };
  assert.doesNotThrow(() => new Job(docs[0] as never).validate());
  assert.equal(job.spec.completionMode, 'Indexed', 'each pod its JOB_COMPLETION_INDEX: its instance');
  const container = job.spec.template.spec.containers[0] as Container;
  const arg = (name: string) => container.args[container.args.indexOf(name) + 1];
  assert.deepEqual(container.args.slice(0, 2), ['loadtest', '--kafka']);
  assert.equal(Number(arg('--instances')), job.spec.completions);
  assert.equal(job.spec.parallelism, job.spec.completions);
  assert.ok(!container.args.includes('--instance'), 'the instance comes from the index');
  assert.equal(arg('--run'), '$(RUN)');
  assert.ok(container.env.some((e) => e.name === 'RUN'));
  assert.equal(job.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(
    [container.securityContext.readOnlyRootFilesystem, container.securityContext.allowPrivilegeEscalation],
    [true, false],
  );
  const loaded = overlaySettings(new Map(), container);
  assert.ok((loaded.kafkaBrokers ?? []).length > 0 && loaded.redisUrl.startsWith('redis'));
});
