// The Kubernetes manifests (deploy/k8s): every object valid against the Kubernetes schemas
// (kubernetes-models), and consistent with Sluice: settings it knows, probes it serves, a grace
// period longer than the drain bound, disruption budgets that select the deployments.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSettings, SETTINGS } from '@sluice/config';
import { Mapping } from '@sluice/core';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret } from 'kubernetes-models/v1';
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
  assert.match(loaded.metaMysqlUrl, /^mysql:/);
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
            command: string[];
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
    assert.deepEqual(container.command.slice(0, 2), ['node', 'services/cli/bin/sluice.js']);
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
