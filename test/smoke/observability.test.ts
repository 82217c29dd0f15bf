// The alert rules and the Grafana dashboard in deploy/observability only use metrics Sluice exports;
// the rules are valid for Prometheus and fire when their unit tests (alerts.test.yaml) say they must.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRIC } from '@sluice/runtime';
import { parse } from 'yaml';
import { repoRoot } from '../support/stack.ts';

const known = new Set(Object.values(METRIC));
const histogramSeries = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(sluice_[a-z_]+)/g)].map((m) => histogramSeries(m[1] as string));
}

test('alert rules are well formed and use exported metrics only', () => {
  const doc = parse(readFileSync(`${repoRoot}deploy/observability/alerts.yaml`, 'utf8')) as {
    groups: Array<{
      name: string;
      rules: Array<{ alert: string; expr: string; labels?: { severity?: string } }>;
    }>;
  };
  const rules = doc.groups.flatMap((g) => g.rules);
  assert.ok(rules.length >= 5);
  for (const rule of rules) {
    assert.match(rule.alert, /^Sluice[A-Z]/);
    assert.ok(rule.labels?.severity, `${rule.alert} has a severity`);
    const used = metricsIn(rule.expr);
    assert.ok(used.length > 0, `${rule.alert} uses a Sluice metric`);
    for (const name of used) assert.ok(known.has(name as never), `${rule.alert}: unknown metric ${name}`);
  }
});

test('promtool accepts the alert rules, and each tested alert fires exactly when its case says', () => {
  const dir = `${repoRoot}deploy/observability`;
  for (const args of [
    ['check', 'rules', 'alerts.yaml'],
    ['test', 'rules', 'alerts.test.yaml'],
  ]) {
    const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
    assert.ifError(run.error); // promtool comes with Debian's prometheus package (bootstrap.sh)
    assert.equal(run.status, 0, `promtool ${args.join(' ')}:\n${run.stdout}${run.stderr}`);
  }
});

test('every alert has a unit test that makes it fire, and a runbook section its runbook_url names', () => {
  const rules = parse(readFileSync(`${repoRoot}deploy/observability/alerts.yaml`, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; annotations?: { runbook_url?: string } }> }>;
  };
  const cases = parse(readFileSync(`${repoRoot}deploy/observability/alerts.test.yaml`, 'utf8')) as {
    tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
  };
  const fired = new Set(
    cases.tests.flatMap((t) =>
      t.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname),
    ),
  );
  const silent = new Set(
    cases.tests.flatMap((t) =>
      t.alert_rule_test.filter((c) => c.exp_alerts.length === 0).map((c) => c.alertname),
    ),
  );
  const runbook = readFileSync(`${repoRoot}docs/runbook.md`, 'utf8');
  const headings = new Set([...runbook.matchAll(/^## (\w+)$/gm)].map((m) => (m[1] as string).toLowerCase()));
  for (const { alert, annotations } of rules.groups.flatMap((g) => g.rules)) {
    assert.ok(fired.has(alert), `${alert}: a case where it fires`);
    assert.ok(silent.has(alert), `${alert}: a case where it stays silent`);
    assert.equal(annotations?.runbook_url, `docs/runbook.md#${alert.toLowerCase()}`, `${alert}: runbook_url`);
    assert.ok(headings.has(alert.toLowerCase()), `${alert}: a section "## ${alert}" in docs/runbook.md`);
  }
});

test('the Grafana dashboard uses exported metrics only', () => {
  const dashboard = JSON.parse(
    readFileSync(`${repoRoot}deploy/observability/grafana-dashboard.json`, 'utf8'),
  ) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  assert.ok(dashboard.panels.length >= 8);
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      for (const name of metricsIn(target.expr))
        assert.ok(known.has(name as never), `${panel.title}: unknown metric ${name}`);
    }
  }
});
