// deploy/k8s: every overlay rendered by `kubectl kustomize`, every document validated against the
// Kubernetes/KEDA/Traefik/prometheus-operator/external-secrets schemas (unknown fields included),
// then the policy (lib/k8s.mjs). Each rule must also fire on fixtures/bad-k8s.yaml.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile, parseYaml } from './lib/compose.mjs';
import { checkManifests, k8sRules, parseDocs, renderOverlay, validateSchema } from './lib/k8s.mjs';
import { paths, traefikEnv } from './lib/repo.mjs';
import { renderTemplate } from './lib/traefik.mjs';

const k8s = join(paths.root, 'deploy/k8s');
// As compose renders them with its defaults (TRAEFIK_CLIENT_IP_DEPTH 0: the TCP peer, as in the cluster).
const composeMiddlewares = parseYaml(renderTemplate(readFileSync(join(paths.traefikDynamic, 'middlewares.yml'), 'utf8'),
  traefikEnv(parseEnvFile(paths.envExample)))).http.middlewares;

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
  test('each CronJob defect is named', () => {
    const found = violations.filter((v) => v.rule === 'cronjob' && v.subject === 'CronJob/backup').map((v) => v.message);
    for (const part of ['concurrencyPolicy', 'startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit',
      'timeZone', 'activeDeadlineSeconds', 'backoffLimit']) {
      assert.ok(found.some((m) => m.startsWith(part) || m.startsWith(`no ${part}`)), `${part} not reported:\n${found.join('\n')}`);
    }
  });
  test('a Secret referenced only from a projected volume is checked', () => {
    assert.ok(violations.some((v) => v.rule === 'references' && v.message.includes('missing-cipher-pass')), describeViolations(violations));
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
    // PostgreSQL: compose.backup.yaml's image, POSTGRES_IMAGE built with PGBACKREST_VERSION, tagged APP_VERSION.
    const backup = parseYaml(readFileSync(join(paths.composeDir, 'compose.backup.yaml'), 'utf8')).services.postgres;
    assert.equal(backup.image, '${APP_IMAGE_PREFIX:-shortener}/postgres-pgbackrest:${APP_VERSION}');
    assert.equal(backup.build.dockerfile, 'postgres/Dockerfile');
    assert.deepEqual(backup.build.args, { POSTGRES_IMAGE: '${POSTGRES_IMAGE}', PGBACKREST_VERSION: '${PGBACKREST_VERSION}' });
    assert.equal(find('StatefulSet', 'postgres').spec.template.spec.containers[0].image, `${env.APP_IMAGE_PREFIX}/postgres-pgbackrest:${env.APP_VERSION}`);
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

describe('k3d backups follow the compose stack (pgBackRest, ADR 0013 and 0014)', () => {
  const docs = rendered.k3d;
  const env = parseEnvFile(paths.envExample);
  const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  const postgres = find('StatefulSet', 'postgres').spec.template.spec;
  const container = (name) => postgres.containers.find((c) => c.name === name);
  const cronJobs = docs.filter((d) => d.kind === 'CronJob' && d.metadata.name.startsWith('pgbackrest-'));
  const ini = (text) => {
    const out = {};
    let section = '';
    for (const line of text.split('\n').map((l) => l.trim())) {
      if (!line || line.startsWith('#')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) { section = header[1]; out[section] ??= {}; continue; }
      const eq = line.indexOf('=');
      out[section][line.slice(0, eq)] = line.slice(eq + 1);
    }
    return out;
  };
  const composeConf = ini(readFileSync(join(paths.composeDir, 'pgbackrest/pgbackrest.conf'), 'utf8'));
  const k8sConf = ini(readFileSync(join(k8s, 'overlays/k3d/backup/pgbackrest.conf'), 'utf8'));

  test('the same stanza, repo1 cipher, retention, compression and archiving settings as compose', () => {
    assert.deepEqual(Object.keys(k8sConf).filter((s) => s !== 'global'), Object.keys(composeConf).filter((s) => s !== 'global'));
    for (const key of ['repo1-retention-full', 'repo1-cipher-type', 'compress-type', 'compress-level', 'archive-async',
      'spool-path', 'process-max', 'start-fast', 'log-path']) {
      assert.equal(k8sConf.global[key], composeConf.global[key], key);
    }
    for (const key of ['pg1-path', 'pg1-socket-path']) assert.equal(k8sConf.shortener[key], composeConf.shortener[key], key);
    // No secret in a file that becomes a ConfigMap.
    for (const section of Object.values(k8sConf)) for (const key of Object.keys(section)) assert.doesNotMatch(key, /cipher-pass|s3-key/);
  });

  test('PostgreSQL archives WAL exactly as compose.backup.yaml does', () => {
    const backup = parseYaml(readFileSync(join(paths.composeDir, 'compose.backup.yaml'), 'utf8')).services.postgres;
    const settings = (args) => args.filter((a, i) => args[i - 1] === '-c' && /^(wal_level|archive_)/.test(a));
    assert.deepEqual(settings(container('postgres').args), settings(backup.command));
  });

  test('every pgBackRest process runs the PostgreSQL image and shares the repository volume', () => {
    const image = container('postgres').image;
    for (const c of [container('pgbackrest'), container('backup-info'), ...cronJobs.map((cj) => cj.spec.jobTemplate.spec.template.spec.containers[0])]) {
      assert.equal(c.image, image, c.name);
      assert.ok(c.volumeMounts.some((m) => m.name === 'pgbackrest-repo' || m.name === 'repository'), `${c.name} mounts the repository`);
    }
    const claims = [postgres, ...cronJobs.map((cj) => cj.spec.jobTemplate.spec.template.spec)]
      .map((spec) => spec.volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName);
    assert.deepEqual([...new Set(claims)], ['pgbackrest-repo']);
    // The lock directory is on that volume, or backups of different pods would not exclude each other.
    assert.match(k8sConf.global['lock-path'], /^\/var\/lib\/pgbackrest\//);
    assert.match(k8sConf.global['repo1-path'], /^\/var\/lib\/pgbackrest\//);
  });

  test('full weekly, differential daily, incremental hourly: the compose systemd timers\' schedule', () => {
    const timer = (type) => /OnCalendar=(.+)/.exec(readFileSync(join(paths.composeDir, `pgbackrest/systemd/shortener-backup-${type}.timer`), 'utf8'))[1];
    // systemd OnCalendar (UTC host) → cron in Etc/UTC
    const expected = {
      full: ['Sun *-*-* 01:00:00', '0 1 * * 0'],
      diff: ['Mon..Sat *-*-* 01:00:00', '0 1 * * 1-6'],
      incr: ['*-*-* 00,02..23:00:00', '0 0,2-23 * * *'],
    };
    assert.deepEqual(cronJobs.map((cj) => cj.metadata.name).sort(), ['pgbackrest-diff', 'pgbackrest-full', 'pgbackrest-incr']);
    for (const [type, [calendar, cron]] of Object.entries(expected)) {
      assert.equal(timer(type), calendar, `compose timer ${type}`);
      const cj = find('CronJob', `pgbackrest-${type}`);
      assert.equal(cj.spec.schedule, cron, type);
      assert.equal(cj.spec.timeZone, 'Etc/UTC');
      assert.match(cj.spec.jobTemplate.spec.template.spec.containers[0].command.join(' '), new RegExp(`--type=${type} backup`));
    }
  });

  test('the backup metrics are Shortener.BackupMetrics\' textfile, served by compose\'s node_exporter and scraped', () => {
    const metrics = container('backup-metrics');
    assert.equal(metrics.image, `${env.APP_IMAGE_PREFIX}/backup-metrics:${env.APP_VERSION}`);
    const script = metrics.command.join(' ');
    assert.match(script, /Shortener\.BackupMetrics\.dll --out \/metrics\/[a-z]+\.prom --info-file/);
    assert.match(script, /--postgres "Host=\/var\/run\/postgresql;/);
    assert.match(container('backup-info').command.join(' '), /pgbackrest --output=json info > \/metrics\/info\.json/);
    const exporter = container('backup-exporter');
    assert.equal(exporter.image, env.NODE_EXPORTER_IMAGE);
    assert.ok(exporter.args.includes('--collector.textfile.directory=/metrics'));
    const port = exporter.ports[0].name;
    const service = docs.find((d) => d.kind === 'Service' && d.spec.ports.some((p) => p.targetPort === port) && d.spec.selector['app.kubernetes.io/name'] === 'postgres');
    const monitor = docs.find((d) => d.kind === 'ServiceMonitor' && d.spec.selector.matchLabels['app.kubernetes.io/name'] === service.metadata.labels['app.kubernetes.io/name']);
    assert.ok(monitor, 'a ServiceMonitor scrapes the backup metrics');
    // The alerts that read them reach the cluster in the base's PrometheusRule.
    const rules = find('PrometheusRule', 'shortener').spec.groups.flatMap((g) => g.rules).map((r) => r.alert);
    for (const alert of ['BackupTooOld', 'WalArchivingFailing']) assert.ok(rules.includes(alert), alert);
  });

  test('the Secrets the backups read are the ones create-secrets.sh makes, with the keys mounted', () => {
    const script = readFileSync(join(k8s, 'overlays/k3d/create-secrets.sh'), 'utf8');
    assert.match(script, /create secret generic pgbackrest-secrets[^\n]*\n\s*--from-literal=secrets\.conf=.*repo1-cipher-pass=/);
    for (const key of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) assert.match(script, new RegExp(`--from-file=${key.replace('.', '\\.')}=`), key);
    // The TLS server only admits the CronJobs' client certificate, and they verify the server's name.
    assert.match(script, /-subj "\/CN=pgbackrest-backup"/);
    assert.equal(k8sConf.global['tls-server-auth'], 'pgbackrest-backup=shortener');
    const hostConf = ini(readFileSync(join(k8s, 'overlays/k3d/backup/backup-host.conf'), 'utf8'));
    assert.match(script, new RegExp(`subjectAltName=DNS:${hostConf.shortener['pg1-host'].replace('.', '\\.')},`));
    assert.equal(hostConf.shortener['pg1-host-port'], k8sConf.global['tls-server-port']);
    assert.equal(String(container('pgbackrest').ports[0].containerPort), k8sConf.global['tls-server-port']);
  });

  test('the README\'s k3d commands build the pinned PostgreSQL and pgBackRest and import both new images', () => {
    const readme = readFileSync(join(paths.root, 'README.md'), 'utf8');
    assert.ok(readme.includes(`--build-arg POSTGRES_IMAGE=${env.POSTGRES_IMAGE}`), 'POSTGRES_IMAGE of .env.example');
    assert.ok(readme.includes(`--build-arg PGBACKREST_VERSION=${env.PGBACKREST_VERSION}`), 'PGBACKREST_VERSION of .env.example');
    for (const image of ['backup-metrics', 'postgres-pgbackrest']) assert.match(readme, new RegExp(`k3d image import[^\\n]*(\\\\\\n[^\\n]*)?shortener/${image}:${env.APP_VERSION}`), image);
  });

  test('production applies none of it (managed PostgreSQL: the provider\'s PITR, deploy/k8s/README.md)', () => {
    const prod = rendered.production;
    assert.ok(!prod.some((d) => d.kind === 'CronJob' || d.kind === 'PersistentVolumeClaim' || (d.kind === 'StatefulSet' && d.metadata.name === 'postgres')));
    assert.match(readFileSync(join(k8s, 'README.md'), 'utf8'), /point-in-time recovery/i);
  });
});
