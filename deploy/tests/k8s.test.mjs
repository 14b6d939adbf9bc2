// deploy/k8s: every overlay rendered by `kubectl kustomize`, every document validated against the
// Kubernetes/KEDA/Traefik/prometheus-operator/external-secrets schemas (unknown fields included),
// then the policy (lib/k8s.mjs). Each rule must also fire on fixtures/bad-k8s.yaml.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile, parseYaml } from './lib/compose.mjs';
import { checkManifests, k8sRules, parseDocs, renderOverlay, validateSchema } from './lib/k8s.mjs';
import { paths } from './lib/repo.mjs';

const k8s = join(paths.root, 'deploy/k8s');
const composeMiddlewares = parseYaml(readFileSync(join(paths.traefikDynamic, 'middlewares.yml'), 'utf8')).http.middlewares;

/** Secrets the k3d overlay expects in the cluster: the ones create-secrets.sh makes. */
const createdByScript = new Set([...readFileSync(join(k8s, 'overlays/k3d/create-secrets.sh'), 'utf8')
  .matchAll(/create secret (?:generic|tls) ([a-z0-9-]+)/g)].map((m) => m[1]));

const overlays = {
  k3d: { externalSecrets: createdByScript, requireDigest: false, composeMiddlewares },
  production: { externalSecrets: new Set(), requireDigest: true, composeMiddlewares },
  // CI's load comes from one client IP: its limits are lifted on purpose, so no compose parity.
  e2e: { externalSecrets: createdByScript, requireDigest: false },
};
const rendered = Object.fromEntries(Object.keys(overlays).map((name) => [name, renderOverlay(join(k8s, 'overlays', name))]));
const describeViolations = (list) => list.map((v) => `${v.rule} ${v.subject}: ${v.message}`).join('\n');
const rulesFor = (ctx) => k8sRules.filter((rule) => rule !== 'middleware-parity' || ctx.composeMiddlewares);

for (const [name, ctx] of Object.entries(overlays)) {
  describe(`overlay ${name} satisfies every rule`, () => {
    const violations = checkManifests(rendered[name], ctx);
    for (const rule of rulesFor(ctx)) {
      test(`${name}: ${rule}`, () => {
        const found = violations.filter((v) => v.rule === rule);
        assert.equal(found.length, 0, describeViolations(found));
      });
    }
  });
}

describe('every rule fires on fixtures/bad-k8s.yaml', () => {
  const bad = parseDocs(readFileSync(join(paths.fixtures, 'bad-k8s.yaml'), 'utf8'));
  const violations = checkManifests(bad, { externalSecrets: new Set(), requireDigest: true, composeMiddlewares });
  for (const rule of k8sRules) {
    test(`bad fixture: ${rule}`, () => {
      assert.ok(violations.some((v) => v.rule === rule), `rule ${rule} reported nothing on the bad fixture`);
    });
  }
  test('the misspelt securityContext key is named', () => {
    assert.ok(violations.some((v) => v.rule === 'unknown-field' && v.message.includes('readOnlyRootFileSystem')), describeViolations(violations));
  });
  test('the internal paths a catch-all route exposes are named', () => {
    const routed = violations.filter((v) => v.rule === 'routes' && v.message.includes('internal path')).map((v) => v.message);
    assert.ok(routed.some((m) => m.endsWith('/metrics')) && routed.some((m) => m.endsWith('/admin')), routed.join('\n'));
  });
});

describe('the schema check itself', () => {
  test('an unknown top-level spec field is reported with its path', () => {
    const doc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { a: 'b' }, ports: [{ port: 80 }], clusterIp: 'None' } };
    assert.deepEqual(validateSchema(doc).unknown, ['/spec/clusterIp']);
  });
  test('a KEDA ScaledObject with a misspelt field is reported', () => {
    const doc = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' }, spec: { scaleTargetRef: { name: 'w' }, triggers: [], maxReplicas: 3 } };
    assert.deepEqual(validateSchema(doc).unknown, ['/spec/maxReplicas']);
  });
  test('misspelt fields in Traefik, prometheus-operator and HPA behavior are reported', () => {
    const unknown = (doc) => validateSchema(doc).unknown;
    assert.deepEqual(unknown({ apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', metadata: { name: 'm' }, spec: { rateLimit: { average: 1, burts: 2 } } }), ['/spec/rateLimit/burts']);
    assert.deepEqual(unknown({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm' }, spec: { selector: {}, endpoints: [{ port: 'http', pth: '/metrics' }] } }), ['/spec/endpoints/0/pth']);
    assert.deepEqual(unknown({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'm' }, spec: { scaleTargetRef: { name: 'a' }, triggers: [], advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { stabilisationWindowSeconds: 1 } } } } } }),
      ['/spec/advanced/horizontalPodAutoscalerConfig/behavior/scaleUp/stabilisationWindowSeconds']);
  });
  test('a kind with no schema is an error, not a pass', () => {
    assert.equal(validateSchema({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } }).known, false);
  });
});

describe('the manifests agree with the code and the compose stack', () => {
  const docs = rendered.k3d;
  const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);

  test('KEDA watches the stream and group the worker consumes (Shortener.Contracts ClickStream)', () => {
    const contracts = readFileSync(join(paths.root, 'apps/src/Shortener.Contracts/ClickEvent.cs'), 'utf8');
    const key = /const string Key = "([^"]+)"/.exec(contracts)[1];
    const group = /const string ConsumerGroup = "([^"]+)"/.exec(contracts)[1];
    const trigger = find('ScaledObject', 'worker').spec.triggers.find((t) => t.type === 'redis-streams');
    assert.equal(trigger.metadata.stream, key);
    assert.equal(trigger.metadata.consumerGroup, group);
  });

  test('each worker pod consumes under its own name (the pod name)', () => {
    const env = find('Deployment', 'worker').spec.template.spec.containers[0].env;
    const consumer = env.find((e) => e.name === 'Aggregator__ConsumerName');
    const podName = env.find((e) => e.name === 'POD_NAME');
    assert.equal(consumer?.value, '$(POD_NAME)');
    assert.equal(podName?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
    assert.ok(env.indexOf(podName) < env.indexOf(consumer), 'POD_NAME must come first for $(POD_NAME) to expand');
  });

  test('PostgreSQL and Redis run the images compose pins (.env.example)', () => {
    const env = parseEnvFile(paths.envExample);
    assert.equal(find('StatefulSet', 'postgres').spec.template.spec.containers[0].image, env.POSTGRES_IMAGE);
    assert.equal(find('StatefulSet', 'redis').spec.template.spec.containers[0].image, env.REDIS_IMAGE);
  });

  test('the alert rules\' job names are the scraped Services (ServiceMonitor job = Service name)', () => {
    for (const name of ['api', 'worker']) {
      assert.ok(find('Service', name), `Service ${name}`);
      const monitor = find('ServiceMonitor', name);
      assert.ok(monitor && !monitor.spec.jobLabel, `ServiceMonitor ${name} without jobLabel`);
      assert.ok(monitor.spec.endpoints.every((e) => e.path === '/metrics'));
    }
  });

  test('the requests-per-second query counts the API\'s own histogram', () => {
    const trigger = find('ScaledObject', 'api').spec.triggers.find((t) => t.type === 'prometheus');
    assert.match(trigger.metadata.query, /http_server_request_duration_seconds_count\{job="api"/);
  });

  test('the namespace enforces Pod Security "restricted"', () => {
    assert.equal(find('Namespace', 'shortener').metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  });
});
