// Kubernetes manifests: render with kustomize, validate against the API schemas, check the policy.
//
// Schemas: kubernetes-models 4.5.1 (the Kubernetes 1.33 OpenAPI), @kubernetes-models/keda 0.4.2,
// /traefik 0.2.4 (traefik.io/v1alpha1), /prometheus-operator 4.4.4, /external-secrets 0.5.2.
// Their compiled validators reject wrong types and missing fields but accept unknown ones, so
// validation runs on a Proxy that records which properties the validator looked at: a property
// it never read is one the schema does not define (maps such as labels are enumerated, and then
// every key counts as read).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);

/** apiVersion group → npm package holding its models. */
const modelPackages = {
  '': 'kubernetes-models', apps: 'kubernetes-models', batch: 'kubernetes-models', policy: 'kubernetes-models',
  autoscaling: 'kubernetes-models', 'networking.k8s.io': 'kubernetes-models', 'rbac.authorization.k8s.io': 'kubernetes-models',
  'keda.sh': '@kubernetes-models/keda',
  'traefik.io': '@kubernetes-models/traefik',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'external-secrets.io': '@kubernetes-models/external-secrets',
};

/**
 * external-secrets.io/v1 (ESO 0.17+, the only version it still serves) is v1beta1 renamed: the
 * project promoted the schema unchanged (external-secrets/external-secrets#4633), and the models
 * package predates the rename.
 */
const versionAliases = { 'external-secrets.io/v1': 'external-secrets.io/v1beta1' };

export function renderOverlay(dir) {
  let out;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('kubectl is required (1.32+, with kustomize v5): install kubectl');
    throw new Error(`kubectl kustomize ${dir} failed: ${error.stderr || error.message}`);
  }
  return parseDocs(out);
}

export function parseDocs(text) {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('\n'));
    return d.toJS();
  }).filter((d) => d && typeof d === 'object');
}

export const subject = (doc) => `${doc.kind}/${doc.metadata?.name ?? '?'}`;

const validators = new Map();
function validatorFor(apiVersion, kind) {
  const key = `${apiVersion} ${kind}`;
  if (validators.has(key)) return validators.get(key);
  const resolved = versionAliases[apiVersion] ?? apiVersion;
  const [group, version] = resolved.includes('/') ? resolved.split('/') : ['', resolved];
  const pkg = modelPackages[group];
  let validate = null;
  if (pkg) {
    const pkgDir = dirname(require.resolve(`${pkg}/package.json`));
    const modelFile = join(pkgDir, group === '' ? version : `${group}/${version}`, `${kind}.js`);
    try {
      const schemaName = /_schemas\/([A-Za-z0-9]+)/.exec(readFileSync(modelFile, 'utf8'))[1];
      validate = require(join(pkgDir, '_schemas', `${schemaName}.js`)).validate;
    } catch {
      validate = null;
    }
  }
  validators.set(key, validate);
  return validate;
}

function track(value, path, nodes) {
  if (value === null || typeof value !== 'object') return value;
  const node = { value, enumerated: false, read: new Set() };
  nodes.set(path, node);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const result = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return result;
      node.read.add(key);
      if (!Object.hasOwn(target, key) || result === null || typeof result !== 'object') return result;
      if (!children.has(key)) children.set(key, track(result, `${path}/${key}`, nodes));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') node.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Schema errors and unknown fields of one document. */
export function validateSchema(doc) {
  const validate = validatorFor(doc.apiVersion, doc.kind);
  if (!validate) return { known: false, errors: [`no schema for ${doc.apiVersion} ${doc.kind}`], unknown: [] };
  const nodes = new Map();
  const alias = versionAliases[doc.apiVersion];
  const valid = validate(track(alias ? { ...doc, apiVersion: alias } : doc, '', nodes));
  const errors = valid ? [] : validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`);
  const unknown = [];
  if (valid) {
    for (const [path, node] of nodes) {
      if (node.enumerated || Array.isArray(node.value)) continue;
      for (const key of Object.keys(node.value)) {
        if (!node.read.has(key)) unknown.push(`${path}/${key}`);
      }
    }
  }
  return { known: true, errors, unknown };
}

// --- Policy ----------------------------------------------------------------------------------

const podOwners = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
const podSpecOf = (doc) => (podOwners.has(doc.kind) ? doc.spec?.template?.spec : doc.kind === 'CronJob' ? doc.spec?.jobTemplate?.spec?.template?.spec : null);
const podLabelsOf = (doc) => doc.spec?.template?.metadata?.labels ?? {};
const allContainers = (spec) => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

/** Trigger metadata each KEDA v2.20.2 scaler reads (pkg/scalers/*_scaler.go, `keda:"name=..."` tags). */
export const kedaTriggerMetadata = {
  'redis-streams': new Set(['address', 'addresses', 'host', 'hosts', 'port', 'ports', 'username', 'password',
    'usernameFromEnv', 'passwordFromEnv', 'stream', 'consumerGroup', 'pendingEntriesCount', 'streamLength',
    'lagCount', 'activationLagCount', 'databaseIndex', 'enableTLS', 'unsafeSsl']),
  prometheus: new Set(['serverAddress', 'query', 'queryParameters', 'threshold', 'activationThreshold', 'namespace',
    'customHeaders', 'ignoreNullValues', 'unsafeSsl', 'awsRegion', 'timeout', 'identityOwner']),
  cpu: new Set(['value', 'containerName']),
  memory: new Set(['value', 'containerName']),
};

const seconds = (timespan, fallback) => {
  if (timespan === undefined) return fallback;
  const m = /^(\d+):(\d{2}):(\d{2})$/.exec(timespan);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
};

/** Route matcher for the path checks: Traefik v3 Path, PathPrefix and PathRegexp, plus negation. */
function routeAcceptsPath(match, path) {
  const clauses = [...match.matchAll(/(!?)(PathRegexp|PathPrefix|Path)\(`([^`]*)`\)/g)];
  if (clauses.length === 0) return true; // no path matcher: every path is routed
  return clauses.every(([, not, fn, arg]) => {
    let hit;
    if (fn === 'Path') hit = path === arg;
    else if (fn === 'PathPrefix') hit = path.startsWith(arg);
    else {
      // Go's inline (?i:...) group: JavaScript (Node 20) has no inline flags, so the whole expression
      // turns case-insensitive, which only widens a negated exclusion list.
      const ci = arg.includes('(?i');
      hit = new RegExp(arg.replaceAll('(?i:', '(?:').replaceAll('(?i)', ''), ci ? 'i' : '').test(path);
    }
    return not ? !hit : hit;
  });
}

export const internalPaths = ['/metrics', '/admin', '/admin/keys', '/livez', '/readyz', '/healthz', '/version', '/openapi', '/METRICS', '/lag'];

/**
 * Every rule over one rendered overlay. ctx: { externalSecrets: Set of Secret names created outside
 * the manifests, requireDigest: bool, composeMiddlewares: {name: spec} }.
 */
export function checkManifests(docs, ctx = {}) {
  const violations = [];
  const add = (rule, doc, message) => violations.push({ rule, subject: typeof doc === 'string' ? doc : subject(doc), message });
  const byKind = (kind) => docs.filter((d) => d.kind === kind);
  const named = (kind, name) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
  const workloads = docs.filter((d) => podSpecOf(d));

  // schema + unknown-field
  for (const doc of docs) {
    const { errors, unknown } = validateSchema(doc);
    for (const e of errors) add('schema', doc, e);
    for (const u of unknown) add('unknown-field', doc, `${u} is not in the ${doc.apiVersion} ${doc.kind} schema`);
  }

  // Secrets that exist: in the manifests, made by ExternalSecrets, or created outside (ctx).
  const secrets = new Set([...byKind('Secret').map((d) => d.metadata.name),
    ...byKind('ExternalSecret').map((d) => d.spec?.target?.name ?? d.metadata.name),
    ...(ctx.externalSecrets ?? [])]);
  const configMaps = new Set(byKind('ConfigMap').map((d) => d.metadata.name));
  const needSecret = (doc, name, where) => { if (!secrets.has(name)) add('references', doc, `Secret ${name} (${where}) is neither in the manifests nor created outside them`); };
  const needConfigMap = (doc, name, where) => { if (!configMaps.has(name)) add('references', doc, `ConfigMap ${name} (${where}) does not exist`); };

  for (const doc of workloads) {
    const spec = podSpecOf(doc);
    const psc = spec.securityContext ?? {};
    // pss-restricted (Pod Security Standards, restricted profile) plus a read-only root filesystem.
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) add('pss-restricted', doc, 'host namespaces are shared');
    for (const v of spec.volumes ?? []) if (v.hostPath) add('pss-restricted', doc, `volume ${v.name} is a hostPath`);
    if (psc.runAsUser === 0) add('pss-restricted', doc, 'pod runs as uid 0');
    for (const c of allContainers(spec)) {
      const sc = c.securityContext ?? {};
      const where = `container ${c.name}`;
      if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) add('pss-restricted', doc, `${where}: runAsNonRoot is not true`);
      if (sc.runAsUser === 0) add('pss-restricted', doc, `${where}: runs as uid 0`);
      const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('pss-restricted', doc, `${where}: seccompProfile is not RuntimeDefault`);
      if (sc.allowPrivilegeEscalation !== false) add('pss-restricted', doc, `${where}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) add('pss-restricted', doc, `${where}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) add('pss-restricted', doc, `${where}: capabilities do not drop ALL`);
      for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') add('pss-restricted', doc, `${where}: adds ${cap}`);
      if (sc.readOnlyRootFilesystem !== true) add('read-only-root', doc, `${where}: root filesystem is writable`);
      // resources
      const r = c.resources ?? {};
      for (const [kind, res] of [['requests', 'cpu'], ['requests', 'memory'], ['limits', 'cpu'], ['limits', 'memory']]) {
        if (!r[kind]?.[res]) add('resources', doc, `${where}: no ${kind}.${res}`);
      }
      // images-pinned
      const image = c.image ?? '';
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      const tag = /:([^/@]+)$/.exec(image)?.[1];
      if (!digest && (!tag || tag === 'latest')) add('image-pinned', doc, `${where}: image ${image} has no fixed tag or digest`);
      if (ctx.requireDigest && !digest) add('image-pinned', doc, `${where}: image ${image} is not referenced by digest`);
      // references from env and envFrom
      for (const e of c.env ?? []) {
        const ref = e.valueFrom;
        if (ref?.configMapKeyRef && !ref.configMapKeyRef.optional) needConfigMap(doc, ref.configMapKeyRef.name, `${where} env ${e.name}`);
        if (ref?.secretKeyRef && !ref.secretKeyRef.optional) needSecret(doc, ref.secretKeyRef.name, `${where} env ${e.name}`);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef) needConfigMap(doc, e.configMapRef.name, `${where} envFrom`);
        if (e.secretRef) needSecret(doc, e.secretRef.name, `${where} envFrom`);
      }
    }
    for (const v of spec.volumes ?? []) {
      if (v.secret && !v.secret.optional) needSecret(doc, v.secret.secretName, `volume ${v.name}`);
      if (v.configMap && !v.configMap.optional) needConfigMap(doc, v.configMap.name, `volume ${v.name}`);
      for (const source of v.projected?.sources ?? []) {
        if (source.secret && !source.secret.optional) needSecret(doc, source.secret.name, `projected volume ${v.name}`);
        if (source.configMap && !source.configMap.optional) needConfigMap(doc, source.configMap.name, `projected volume ${v.name}`);
      }
      if (v.persistentVolumeClaim && !named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) {
        add('references', doc, `PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} (volume ${v.name}) does not exist`);
      }
    }
    // sa-token: no Kubernetes API token in pods that never call the API.
    if (spec.automountServiceAccountToken !== false) add('sa-token', doc, 'pod automountServiceAccountToken is not false');
    const sa = spec.serviceAccountName ? named('ServiceAccount', spec.serviceAccountName) : null;
    if (!sa) add('sa-token', doc, `ServiceAccount ${spec.serviceAccountName ?? '(default)'} is not one of the manifests`);
    else if (sa.automountServiceAccountToken !== false) add('sa-token', sa, 'automountServiceAccountToken is not false');

    // probes: the services' health endpoints on a declared port; data stores need some probe.
    if (doc.kind === 'Deployment') {
      for (const c of spec.containers ?? []) {
        const ports = c.ports ?? [];
        const probeOn = (probe, path, name) => {
          const get = probe?.httpGet;
          if (!get) return add('probes', doc, `${c.name}: no ${name} httpGet probe`);
          if (get.path !== path) add('probes', doc, `${c.name}: ${name} probe is ${get.path}, must be ${path}`);
          if (!ports.some((p) => p.name === get.port || p.containerPort === get.port)) add('probes', doc, `${c.name}: ${name} probe port ${get.port} is not a container port`);
        };
        probeOn(c.readinessProbe, '/readyz', 'readiness');
        probeOn(c.livenessProbe, '/livez', 'liveness');
        probeOn(c.startupProbe, '/livez', 'startup');
      }
    } else if (doc.kind === 'StatefulSet') {
      for (const c of spec.containers ?? []) {
        if (!c.readinessProbe || !c.livenessProbe) add('probes', doc, `${c.name}: readiness and liveness probes are required`);
      }
    }

    // graceful-stop: the grace period covers preStop + drain delay + finish timeout.
    for (const c of spec.containers ?? []) {
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
      if (!('Shutdown__DrainDelay' in env)) continue;
      const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const needed = preStop + seconds(env.Shutdown__DrainDelay, 5) + seconds(env.Shutdown__FinishTimeout, 20);
      const grace = spec.terminationGracePeriodSeconds ?? 30;
      if (!(grace > needed)) add('graceful-stop', doc, `terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} s + drain + finish = ${needed} s`);
      if (c.ports?.length && doc.metadata.name === 'api' && preStop < 1) add('graceful-stop', doc, 'the API needs a preStop pause so endpoints are removed before the drain starts');
    }
  }

  // cronjob: scheduled jobs (the backups) never overlap, a missed slot runs late or is skipped, a hung
  // run is killed, failures stay inspectable, and the schedule does not depend on the controller's zone.
  for (const cj of byKind('CronJob')) {
    const s = cj.spec ?? {};
    const job = s.jobTemplate?.spec ?? {};
    if (s.concurrencyPolicy !== 'Forbid') add('cronjob', cj, `concurrencyPolicy is ${s.concurrencyPolicy ?? 'Allow (default)'}, must be Forbid`);
    if (!(s.startingDeadlineSeconds > 0)) add('cronjob', cj, 'no startingDeadlineSeconds: after 100 missed slots the controller stops scheduling it');
    for (const limit of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
      if (!(s[limit] >= 1 && s[limit] <= 10)) add('cronjob', cj, `${limit} must be set between 1 and 10 (got ${s[limit] ?? 'the default'})`);
    }
    if (!s.timeZone) add('cronjob', cj, 'no timeZone: the schedule would follow the controller manager\'s local time');
    if (!(job.activeDeadlineSeconds > 0)) add('cronjob', cj, 'no activeDeadlineSeconds: a hung run would block every later slot (Forbid)');
    if (!(job.backoffLimit >= 0 && job.backoffLimit <= 3)) add('cronjob', cj, `backoffLimit must be set, at most 3 (got ${job.backoffLimit ?? 'the default 6'})`);
  }

  // shared-rwo-volume: a ReadWriteOnce claim mounted by several workloads (the backup repository) works
  // only on one node, so every other workload must be required onto the node of one that mounts it.
  for (const pvc of byKind('PersistentVolumeClaim')) {
    if (!(pvc.spec?.accessModes ?? []).includes('ReadWriteOnce')) continue;
    const users = workloads.filter((w) => (podSpecOf(w).volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === pvc.metadata.name));
    if (users.length < 2) continue;
    const podLabels = (w) => (w.kind === 'CronJob' ? w.spec?.jobTemplate?.spec?.template?.metadata?.labels : podLabelsOf(w)) ?? {};
    const anchored = users.filter((w) => !(podSpecOf(w).affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
      .some((term) => term.topologyKey === 'kubernetes.io/hostname' && Object.keys(term.labelSelector?.matchLabels ?? {}).length > 0
        && users.some((other) => other !== w && matches(term.labelSelector.matchLabels, podLabels(other)))));
    if (anchored.length > 1) {
      add('shared-rwo-volume', pvc, `ReadWriteOnce and mounted by ${anchored.map(subject).join(', ')} without a required podAffinity (kubernetes.io/hostname) to another of its users: they may land on different nodes`);
    }
  }

  // Services select pods and name their ports.
  for (const svc of byKind('Service')) {
    const selector = svc.spec?.selector;
    const pods = workloads.filter((w) => selector && matches(selector, podLabelsOf(w)));
    if (!pods.length) { add('service-selector', svc, `selector ${JSON.stringify(selector)} matches no pod template`); continue; }
    for (const p of svc.spec.ports ?? []) {
      if (typeof p.targetPort !== 'string') continue;
      const has = pods.some((w) => allContainers(podSpecOf(w)).some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort)));
      if (!has) add('service-selector', svc, `targetPort ${p.targetPort} is not a named port of the selected pods`);
    }
  }

  // Autoscaling: KEDA ScaledObjects own the HPAs.
  const minReplicas = new Map();
  for (const so of byKind('ScaledObject')) {
    const { minReplicaCount: min = 0, maxReplicaCount: max = 100 } = so.spec ?? {};
    const target = so.spec?.scaleTargetRef?.name;
    minReplicas.set(target, min);
    if (!(min <= max)) add('scaler-bounds', so, `minReplicaCount ${min} > maxReplicaCount ${max}`);
    if (min < 1) add('scaler-bounds', so, 'minReplicaCount 0 would leave the service stopped until the next poll');
    if (!named('Deployment', target)) add('scaler-bounds', so, `scaleTargetRef ${target} is not a Deployment here`);
    if (byKind('HorizontalPodAutoscaler').some((h) => h.spec?.scaleTargetRef?.name === target)) add('scaler-bounds', so, `a HorizontalPodAutoscaler also targets ${target}`);
    for (const t of so.spec?.triggers ?? []) {
      const known = kedaTriggerMetadata[t.type];
      if (!known) { add('keda-trigger', so, `trigger type ${t.type} is not checked by this policy`); continue; }
      for (const key of Object.keys(t.metadata ?? {})) if (!known.has(key)) add('keda-trigger', so, `${t.type} trigger has unknown metadata ${key}`);
      if (t.authenticationRef && !named('TriggerAuthentication', t.authenticationRef.name)) add('references', so, `TriggerAuthentication ${t.authenticationRef.name} does not exist`);
      if (t.type === 'redis-streams') {
        const m = t.metadata ?? {};
        if (m.stream !== 'clicks' || m.consumerGroup !== 'aggregator') add('keda-trigger', so, 'redis-streams must watch stream "clicks", group "aggregator"');
        if (!(Number(m.lagCount) > 0)) add('keda-trigger', so, 'redis-streams must scale on lagCount (consumer-group lag)');
      }
    }
  }
  for (const h of byKind('HorizontalPodAutoscaler')) {
    const { minReplicas: min = 1, maxReplicas: max } = h.spec ?? {};
    minReplicas.set(h.spec?.scaleTargetRef?.name, min);
    if (!(min <= max)) add('scaler-bounds', h, `minReplicas ${min} > maxReplicas ${max}`);
  }
  for (const ta of byKind('TriggerAuthentication')) {
    for (const ref of ta.spec?.secretTargetRef ?? []) needSecret(ta, ref.name, `parameter ${ref.parameter}`);
  }

  // PDBs leave room for a disruption.
  for (const pdb of byKind('PodDisruptionBudget')) {
    const target = workloads.find((w) => matches(pdb.spec?.selector?.matchLabels, podLabelsOf(w)));
    if (!target) { add('pdb', pdb, 'selects no workload'); continue; }
    const replicas = minReplicas.get(target.metadata.name) ?? target.spec?.replicas ?? 1;
    const minAvailable = pdb.spec?.minAvailable;
    if (typeof minAvailable === 'number' && !(minAvailable < replicas)) add('pdb', pdb, `minAvailable ${minAvailable} is not below the ${replicas} replicas ${target.metadata.name} may run with: no eviction could ever proceed`);
    if (pdb.spec?.maxUnavailable === 0 || pdb.spec?.maxUnavailable === '0%') add('pdb', pdb, 'maxUnavailable 0 blocks every eviction');
  }

  // NetworkPolicy: a default deny for both directions.
  const deny = byKind('NetworkPolicy').some((np) => Object.keys(np.spec?.podSelector ?? {}).length === 0
    && ['Ingress', 'Egress'].every((t) => (np.spec?.policyTypes ?? []).includes(t))
    && !(np.spec?.ingress?.length) && !(np.spec?.egress?.length));
  if (!deny) add('default-deny', 'NetworkPolicy', 'no default-deny policy (empty podSelector, Ingress and Egress, no rules)');

  // Routes: TLS, middlewares, and never an internal path.
  const middlewares = new Set(byKind('Middleware').map((m) => m.metadata.name));
  for (const ir of byKind('IngressRoute')) {
    if (!ir.spec?.tls) add('routes', ir, 'no TLS');
    else if (ir.spec.tls.secretName) needSecret(ir, ir.spec.tls.secretName, 'tls');
    if ((ir.spec?.entryPoints ?? []).some((e) => e !== 'websecure')) add('routes', ir, 'served on an entry point other than websecure');
    for (const [i, route] of (ir.spec?.routes ?? []).entries()) {
      const names = (route.middlewares ?? []).map((m) => m.name);
      if (!names.some((n) => n.startsWith('security-headers'))) add('routes', ir, `route ${i} has no security-headers middleware`);
      if (!names.some((n) => n.startsWith('rate-limit'))) add('routes', ir, `route ${i} has no rate-limit middleware`);
      for (const n of names) if (!middlewares.has(n)) add('references', ir, `route ${i}: Middleware ${n} does not exist`);
      for (const s of route.services ?? []) if (!named('Service', s.name)) add('references', ir, `route ${i}: Service ${s.name} does not exist`);
      for (const path of internalPaths) if (routeAcceptsPath(route.match ?? '', path)) add('routes', ir, `route ${i} routes the internal path ${path}`);
    }
  }

  // The same middlewares as compose (same name, same settings).
  if (ctx.composeMiddlewares) {
    for (const m of byKind('Middleware')) {
      const expected = ctx.composeMiddlewares[m.metadata.name];
      if (!expected) add('middleware-parity', m, 'has no counterpart in deploy/compose/traefik/dynamic/middlewares.yml');
      else if (JSON.stringify(normalise(expected)) !== JSON.stringify(normalise(m.spec))) add('middleware-parity', m, 'differs from the compose middleware of the same name');
    }
  }
  return violations;
}

function normalise(value) {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, normalise(value[k])]));
  return value;
}

export const k8sRules = ['schema', 'unknown-field', 'pss-restricted', 'read-only-root', 'resources', 'image-pinned',
  'references', 'sa-token', 'probes', 'graceful-stop', 'service-selector', 'scaler-bounds', 'keda-trigger', 'pdb',
  'default-deny', 'routes', 'middleware-parity', 'cronjob', 'shared-rwo-volume'];
