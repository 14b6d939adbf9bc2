// Consistency tests for the configuration that cannot run here (no Docker engine): every key is
// one the pinned version documents, every cross-reference (ports, hosts, uids, mounts, secrets)
// points at something that exists. node --test deploy/tests/
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCompose, parseEnvFile, parseVolume, parseYaml, requiredVariables } from './lib/compose.mjs';
import { loadDynamicDirectory } from './lib/traefik.mjs';
import { checkClientAddress, checkForwardedTrust, parseDockerfile, terraformCdnRanges } from './lib/policy.mjs';
import { paths, traefikEnv } from './lib/repo.mjs';

const env = parseEnvFile(paths.envExample);
const { model } = loadCompose([paths.compose, paths.composeObservability], env);
const services = model.services;
const read = (p) => readFileSync(p, 'utf8');
const yamlAt = (p) => parseYaml(read(join(paths.observability, p)));

/** Flattens a config to dotted lower-case keys; maps listed in `named` get "_name_" segments. */
function flatten(value, prefix = '', named = []) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => {
    const segment = named.includes(prefix) ? '_name_' : key.toLowerCase();
    const path = prefix ? `${prefix}.${segment}` : segment;
    if (Array.isArray(child) && child.some((c) => c && typeof c === 'object')) {
      return child.flatMap((item) => flatten(item, `${path}[]`, named));
    }
    return flatten(child, path, named);
  });
}

describe('.env.example', () => {
  test('pins every image to an explicit version', () => {
    for (const [key, image] of Object.entries(env).filter(([k]) => k.endsWith('_IMAGE'))) {
      assert.match(image, /:[\w][\w.-]*$/, `${key}=${image} has no tag`);
      assert.doesNotMatch(image, /:(latest|stable|edge|main|master)$/, `${key}=${image} floats`);
      assert.match(image.split(':').pop(), /\d/, `${key}=${image}: the tag names no version`);
    }
  });

  test('defines every variable the compose files use without a default', () => {
    const used = [paths.compose, paths.composeObservability].flatMap((p) => requiredVariables(read(p)));
    const missing = [...new Set(used)].filter((name) => !(name in env) && name !== 'COMPOSE_PROJECT_NAME');
    assert.deepEqual(missing, []);
  });

  test('every service image comes from it', () => {
    for (const [name, svc] of Object.entries(services)) {
      const raw = [paths.compose, paths.composeObservability].map(read).join('\n');
      const line = new RegExp(`^  ${name}:\\n(?:    .*\\n|\\s*\\n)*?    image: (\\S+)`, 'm').exec(raw)?.[1];
      assert.ok(line, `${name}: no image line`);
      assert.match(line, /^\$\{[A-Z_]+(:-[^}]*)?\}/, `${name}: image "${line}" is not taken from .env`);
      assert.ok(svc.image, name);
    }
  });
});

describe('apps/Dockerfile', () => {
  const text = read(paths.dockerfile);
  const { globalArgs, stages } = parseDockerfile(text);

  test('base images are build arguments pinned like .env.example', () => {
    assert.equal(globalArgs.SDK_IMAGE, env.DOTNET_SDK_IMAGE);
    assert.equal(globalArgs.RUNTIME_IMAGE, env.DOTNET_RUNTIME_IMAGE);
    assert.equal(stages.build.from, '${SDK_IMAGE}');
    assert.equal(stages.runtime.from, '${RUNTIME_IMAGE}');
  });

  test('has a target for each service compose builds', () => {
    for (const [name, svc] of Object.entries(services).filter(([, s]) => s.build)) {
      assert.ok(stages[svc.build.target], `${name}: target ${svc.build.target}`);
      assert.equal(svc.build.dockerfile, 'apps/Dockerfile');
      assert.equal(resolve(paths.composeDir, svc.build.context), paths.root);
    }
  });

  test('restores from project files copied before the sources (cached restore layer)', () => {
    const copies = stages.build.copies;
    const sourcesCopy = copies.findIndex((c) => c.startsWith('apps/src/ '));
    assert.ok(sourcesCopy > 0, 'sources are copied after the restore layer');
    const restoreLayer = copies.slice(0, sourcesCopy).join(' ');
    // Every project the published ones reference, transitively, must be in the restore layer.
    const seen = new Set();
    const visit = (csproj) => {
      if (seen.has(csproj)) return;
      seen.add(csproj);
      const xml = read(join(paths.root, csproj));
      for (const m of xml.matchAll(/<ProjectReference Include="([^"]+)"/g)) {
        visit(join(csproj, '..', m[1].replace(/\\/g, '/')).replace(/^\/?/, ''));
      }
    };
    for (const p of ['Api', 'Worker', 'Migrations']) visit(`apps/src/Shortener.${p}/Shortener.${p}.csproj`);
    visit('apps/tools/Shortener.BackupMetrics/Shortener.BackupMetrics.csproj');
    for (const csproj of seen) assert.ok(restoreLayer.includes(csproj), `${csproj} missing from the restore layer`);
    for (const f of ['global.json', 'apps/Directory.Build.props', 'apps/Directory.Packages.props']) {
      assert.ok(restoreLayer.includes(f), `${f} missing from the restore layer`);
    }
    assert.ok(stages.build.runs.some((r) => r.includes('dotnet restore')));
  });

  test('feeds VERSION, GIT_SHA and BUILD_DATE to every publish', () => {
    for (const target of ['publish-api', 'publish-worker', 'publish-migrator', 'publish-backup-metrics']) {
      const run = stages[target].runs.join(' ');
      for (const arg of ['VERSION', 'GIT_SHA', 'BUILD_DATE']) assert.match(run, new RegExp(`-p:${arg}=`), `${target}: ${arg}`);
    }
  });

  test('runtime images run as a non-root user and carry OCI labels', () => {
    for (const target of ['api', 'worker', 'migrator', 'backup-metrics']) {
      assert.match(stages[target].user, /APP_UID|^[1-9]\d*$/, `${target} user`);
      for (const label of ['title', 'version', 'revision', 'created', 'source']) {
        assert.ok(`org.opencontainers.image.${label}` in stages[target].labels, `${target}: ${label}`);
      }
    }
  });

  test('long-running targets have a HEALTHCHECK on their own port', () => {
    for (const target of ['api', 'worker']) {
      const port = stages[target].env.ASPNETCORE_HTTP_PORTS;
      assert.ok(stages[target].healthcheck?.includes(`/dev/tcp/127.0.0.1/${port}`), `${target} probes ${port}`);
      assert.ok(stages[target].healthcheck.includes('/livez'), `${target} probes liveness`);
      assert.equal(services[target].environment.ASPNETCORE_HTTP_PORTS, port, `${target}: compose and image agree on the port`);
    }
    assert.equal(stages.migrator.healthcheck, null);
    assert.equal(stages['backup-metrics'].healthcheck, null); // a loop in the k3d postgres pod, probed there
  });

  test('.dockerignore sends only the build inputs', () => {
    const lines = read(paths.dockerignore).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*', 'allow-list: everything excluded first');
    const allowed = lines.filter((l) => l.startsWith('!'));
    for (const a of allowed) assert.match(a, /^!(global\.json|\.editorconfig|apps\/)/, `${a} re-included`);
    for (const must of ['apps/src/**/bin/', 'apps/src/**/obj/', 'apps/tools/**/bin/', 'apps/tools/**/obj/']) assert.ok(lines.includes(must), must);
  });
});

/** Image builds restore with TreatWarningsAsErrors: NuGet audit codes must not be promoted there. */
export function auditBreaksBuilds(propsText) {
  if (!/<TreatWarningsAsErrors>true<\/TreatWarningsAsErrors>/.test(propsText)) return [];
  const demoted = /<WarningsNotAsErrors(?: Condition="'\$\(NuGetAuditGate\)' != 'true'")?>[^<]*<\/WarningsNotAsErrors>/.exec(propsText)?.[0] ?? '';
  return ['NU1901', 'NU1902', 'NU1903', 'NU1904'].filter((code) => !demoted.includes(code));
}

describe('builds and the NuGet audit gate', () => {
  test('an advisory never breaks a build; make audit is the gate', () => {
    const props = read(join(paths.root, 'apps/Directory.Build.props'));
    assert.deepEqual(auditBreaksBuilds(props), []);
    assert.match(read(join(paths.root, 'Makefile')), /^audit:.*\n\tdotnet restore .*-p:NuGetAuditGate=true/m);
    // The defect class: TreatWarningsAsErrors alone turns NU1901-NU1904 into restore errors.
    assert.deepEqual(auditBreaksBuilds(props.replace(/\s*<WarningsNotAsErrors[^\n]*\n/, '\n')), ['NU1901', 'NU1902', 'NU1903', 'NU1904']);
  });
});

describe('compose wiring', () => {
  test('backend has no egress; only Traefik and Alertmanager reach the edge network', () => {
    assert.equal(model.networks.backend.internal, true);
    const onEdge = Object.entries(services).filter(([, s]) => Object.keys(Array.isArray(s.networks) ? Object.fromEntries(s.networks.map((n) => [n, 1])) : s.networks ?? {}).includes('edge')).map(([n]) => n);
    assert.deepEqual(onEdge.sort(), ['alertmanager', 'traefik']);
  });

  test('every secret file is created by init-secrets.sh or generate-local-cert.sh', () => {
    const scripts = read(join(paths.composeDir, 'init-secrets.sh')) + read(join(paths.composeDir, 'traefik/generate-local-cert.sh'));
    for (const [name, secret] of Object.entries(model.secrets)) {
      const file = secret.file.replace(/^\.\//, '');
      const base = file.split('/').pop().replace(/\.(crt|key)$/, '');
      assert.ok(scripts.includes(base), `${name}: ${file} is produced by no script`);
    }
  });

  test('every secret a service uses is declared, and every declared secret is used', () => {
    const used = new Set(Object.values(services).flatMap((s) => (s.secrets ?? []).map((x) => x.source ?? x)));
    assert.deepEqual([...used].filter((s) => !model.secrets[s]), []);
    assert.deepEqual(Object.keys(model.secrets).filter((s) => !used.has(s)), []);
  });

  test('files referenced as /run/secrets/<name> are mounted in that service', () => {
    for (const [name, svc] of Object.entries(services)) {
      const text = JSON.stringify([svc.environment, svc.command, svc.healthcheck]);
      const mounted = new Set((svc.secrets ?? []).map((x) => x.target ?? x.source ?? x));
      for (const m of text.matchAll(/\/run\/secrets\/([\w-]+)/g)) assert.ok(mounted.has(m[1]), `${name} reads ${m[1]}`);
    }
    // Traefik's dynamic files and the initdb script read secrets too.
    const traefikMounts = new Set(services.traefik.secrets);
    for (const file of readdirSync(paths.traefikDynamic)) {
      for (const m of read(join(paths.traefikDynamic, file)).matchAll(/\/run\/secrets\/([\w-]+)/g)) assert.ok(traefikMounts.has(m[1]), `traefik reads ${m[1]}`);
    }
    assert.ok(services.postgres.secrets.includes('postgres_exporter_password'));
  });

  test('bind-mounted configuration exists in the repository', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const v of (svc.volumes ?? []).map(parseVolume).filter((x) => x.type === 'bind' && x.source.startsWith('.'))) {
        assert.ok(existsSync(resolve(paths.composeDir, v.source)), `${name}: ${v.source}`);
        assert.ok(v.readOnly, `${name}: ${v.source} should be mounted read-only`);
      }
    }
  });

  test('volumes whose mount point the image lacks are chowned by volume-init', () => {
    const initTargets = services['volume-init'].volumes.map(parseVolume);
    for (const [volume, uid] of [['traefik-acme', '65532'], ['loki-data', '10001'], ['tempo-data', '10001']]) {
      const entry = initTargets.find((v) => v.source === volume);
      assert.ok(entry, `${volume} not initialised`);
      assert.equal(entry.target, `/volumes/${uid}/${volume}`);
    }
    assert.equal(services.traefik.user.split(':')[0], '65532');
    assert.equal(services.loki.user.split(':')[0], '10001');
    assert.equal(services.tempo.user.split(':')[0], '10001');
  });

  test('API and worker wait for healthy data stores and a completed migration', () => {
    for (const s of ['api', 'worker']) {
      assert.equal(services[s].depends_on.migrator.condition, 'service_completed_successfully');
      assert.equal(services[s].depends_on.postgres.condition, 'service_healthy');
      assert.equal(services[s].depends_on.redis.condition, 'service_healthy');
    }
    assert.equal(services.migrator.depends_on.postgres.condition, 'service_healthy');
  });

  test('the API trusts X-Forwarded-For from Traefik\'s fixed address only', () => {
    assert.deepEqual(checkForwardedTrust(model), []);
    // The class: trusting the whole backend network lets any container forge client IPs.
    const wide = structuredClone(model);
    wide.services.api.environment.ForwardedHeaders__KnownNetworks__0 = model.networks.backend.ipam.config[0].subnet;
    assert.match(checkForwardedTrust(wide).join('\n'), /api: trusts 10\.242\.0\.0\/24/);
    const dynamic = structuredClone(model);
    dynamic.networks.backend.ipam.config[0].ip_range = '10.242.0.0/24';
    assert.match(checkForwardedTrust(dynamic).join('\n'), /inside the dynamic range/);
    // A relay inside the dynamic range could be impersonated by any new container.
    const relay = structuredClone(model);
    relay.services.console.networks.backend.ipv4_address = '10.242.0.5';
    relay.services.api.environment.ForwardedHeaders__KnownNetworks__1 = '10.242.0.5/32';
    assert.match(checkForwardedTrust(relay).join('\n'), /api: trusts 10\.242\.0\.5\/32/);
    assert.equal(services.api.environment.Links__PublicBaseUrl, `https://${env.DOMAIN}`);
  });

  test('behind Cloudflare the limits and the API key on the client, and no client can choose its address', () => {
    const cdnRanges = terraformCdnRanges(read(join(paths.root, 'infra/terraform/modules/network/variables.tf')));
    const staticConfig = parseYaml(read(paths.traefikStatic));
    const shipped = (depth) => ({
      staticConfig, model, cdnRanges, depth,
      dynamic: loadDynamicDirectory(paths.traefikDynamic, { ...traefikEnv(env), TRAEFIK_CLIENT_IP_DEPTH: depth }).config,
    });
    assert.ok(cdnRanges.length >= 20, `only ${cdnRanges.length} Cloudflare ranges read from Terraform`);
    assert.deepEqual(env.CDN_NETWORKS.split(',').sort(), [...cdnRanges].sort());
    assert.equal(env.TRAEFIK_CLIENT_IP_DEPTH, '0');
    assert.deepEqual(checkClientAddress(shipped('0')), []);
    assert.deepEqual(checkClientAddress(shipped('1')), []);
    // The classes, each as the defect a review found or would find:
    const untrusted = shipped('1');
    untrusted.staticConfig = structuredClone(staticConfig);
    delete untrusted.staticConfig.entryPoints.websecure.forwardedHeaders;
    assert.match(checkClientAddress(untrusted).join('\n'), /not exactly the Terraform[\s\S]*one bucket/);
    const header = shipped('1');
    header.dynamic.http.middlewares['rate-limit-api'].rateLimit.sourceCriterion = { requestHeaderName: 'CF-Connecting-IP' };
    assert.match(checkClientAddress(header).join('\n'), /rate-limit-api: keys on header CF-Connecting-IP/);
    const mixed = shipped('1');
    mixed.dynamic.http.middlewares['in-flight-limit'].inFlightReq.sourceCriterion.ipStrategy = { depth: 0 };
    assert.match(checkClientAddress(mixed).join('\n'), /in-flight-limit: ipStrategy.depth 0 is not TRAEFIK_CLIENT_IP_DEPTH \(1\)/);
    const host = shipped('0');
    delete host.dynamic.http.middlewares['security-headers'].headers.customRequestHeaders;
    assert.match(checkClientAddress(host).join('\n'), /security-headers: a client's X-Forwarded-Host/);
    const admins = loadDynamicDirectory(paths.traefikDynamic, { ...traefikEnv(env), TRAEFIK_CLIENT_IP_DEPTH: '1', ADMIN_SOURCE_RANGES: '' }).config;
    assert.match(checkClientAddress({ ...shipped('1'), dynamic: admins }).join('\n'), /admin-allow-list: sourceRange entry "" is not a CIDR/);
    assert.deepEqual(admins.http.middlewares['admin-allow-list'].ipAllowList.ipStrategy, { depth: 1 });
    const api = { ...shipped('0'), model: structuredClone(model) };
    api.model.services.api.environment.ForwardedHeaders__ForwardLimit = '5';
    api.model.services.console.environment.ForwardedHeaders__CdnNetworks = `${env.CDN_NETWORKS},10.242.0.0/24`;
    const apiFound = checkClientAddress(api).join('\n');
    assert.match(apiFound, /api: ForwardedHeaders__ForwardLimit 5/);
    assert.match(apiFound, /console: ForwardedHeaders__CdnNetworks is not exactly/);
  });

  test('connection strings carry no password: Npgsql reads the pgpass secret of its role', () => {
    for (const [s, role] of [['api', 'app'], ['worker', 'app'], ['migrator', 'owner']]) {
      const cs = services[s].environment.ConnectionStrings__postgres;
      assert.match(cs, new RegExp(`Username=shortener_${role};.*Passfile=/run/secrets/postgres_${role}_pgpass`));
      assert.doesNotMatch(cs, /Password=/i);
      assert.ok(services[s].secrets.includes(`postgres_${role}_pgpass`));
    }
    assert.equal(services.postgres.environment.POSTGRES_USER, 'postgres', 'the bootstrap superuser is not a service login');
  });

  test('pool sizes fit the app role\'s connection limit and max_connections', () => {
    const roles = read(join(paths.composeDir, 'postgres/initdb/20-roles.sql'));
    const limit = (role) => Number(new RegExp(`CREATE ROLE ${role} [^;]*CONNECTION LIMIT (\\d+)`).exec(roles)[1]);
    const pool = (s) => Number(/Maximum Pool Size=(\d+)/.exec(services[s].environment.ConnectionStrings__postgres)[1]);
    const command = services.postgres.command.join(' ');
    const maxConnections = Number(/max_connections=(\d+)/.exec(command)[1]);
    const reserved = Number(/superuser_reserved_connections=(\d+)/.exec(command)?.[1] ?? 3);
    const app = pool('api') * Number(env.API_REPLICAS) + pool('worker');
    assert.ok(app <= limit('shortener_app'), `app pools ${app} > shortener_app CONNECTION LIMIT ${limit('shortener_app')}`);
    const exporter = Number(/CONNECTION LIMIT (\d+)/.exec(read(join(paths.composeDir, 'postgres/initdb/10-monitoring-role.sh')))[1]);
    assert.ok(limit('shortener_app') + pool('migrator') + exporter + reserved <= maxConnections,
      `app limit + migrator + exporter + reserved exceed max_connections ${maxConnections}`);
    assert.match(read(paths.compose), new RegExp(`API_REPLICAS \\(${env.API_REPLICAS}\\) x ${pool('api')} \\+ worker ${pool('worker')} = ${app} `),
      'the pool comment in compose.yaml states the real numbers');
  });

  test('API and worker log in to Redis as their own ACL users', () => {
    assert.equal(services.api.environment.Redis__User, 'shortener-api');
    assert.equal(services.worker.environment.Redis__User, 'shortener-worker');
    assert.match(read(join(paths.composeDir, 'redis/redis.conf')), /^aclfile \/run\/secrets\/redis_acl$/m);
  });

  test('apps export OTLP to the collector only when the observability layer is used', () => {
    const baseOnly = loadCompose([paths.compose], env).model.services;
    for (const s of ['api', 'worker', 'migrator']) {
      assert.equal(baseOnly[s].environment.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
      assert.equal(services[s].environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4317');
    }
  });
});

describe('Prometheus and its targets (observability/prometheus)', () => {
  const targetsDir = join(paths.observability, 'prometheus/targets/compose');
  const targetFiles = existsSync(targetsDir) ? readdirSync(targetsDir) : [];

  test('Prometheus runs with the remote-write receiver and exemplar storage (Tempo metrics generator)', () => {
    const cmd = services.prometheus.command;
    assert.ok(cmd.includes('--web.enable-remote-write-receiver'));
    assert.ok(cmd.includes('--enable-feature=exemplar-storage'));
    assert.ok(cmd.includes('--config.file=/etc/prometheus/prometheus.yml'));
  });

  test('file_sd targets name hosts and ports that exist in compose', { skip: targetFiles.length === 0 && 'no target files yet' }, () => {
    const ports = {
      traefik: [services.traefik && '8082'], 'otel-collector': ['8888'], prometheus: ['9090'],
      alertmanager: ['9093'], 'postgres-exporter': ['9187'], 'redis-exporter': ['9121'], 'node-exporter': ['9100'],
      'blackbox-exporter': ['9115'], cadvisor: ['8080'], tempo: ['3200'], loki: ['3100'], grafana: ['3000'],
    };
    const project = 'shortener';
    const replicas = Number(env.API_REPLICAS);
    for (const file of targetFiles) {
      for (const group of parseYaml(read(join(targetsDir, file))) ?? []) {
        for (const target of group.targets) {
          const hostPort = target.replace(/^https?:\/\//, '').split('/')[0];
          const [host, port] = hostPort.split(':');
          const replica = new RegExp(`^${project}-(api|worker)-(\\d+)$`).exec(host);
          if (replica) {
            assert.equal(port, services[replica[1]].environment.ASPNETCORE_HTTP_PORTS, target);
            if (replica[1] === 'api') assert.ok(Number(replica[2]) <= replicas, `${target}: only ${replicas} API replicas`);
            continue;
          }
          assert.ok(services[host], `${file}: ${target} names no compose service`);
          assert.ok(ports[host]?.includes(port), `${file}: ${target} is not a port ${host} listens on`);
        }
      }
    }
  });

  test('Traefik\'s metrics entrypoint is the scraped port and is not published', () => {
    const traefik = parseYaml(read(paths.traefikStatic));
    assert.equal(traefik.metrics.prometheus.entryPoint, 'metrics');
    assert.equal(traefik.entryPoints.metrics.address, ':8082');
    const published = services.traefik.ports.map((p) => String(p).split(':').pop());
    assert.deepEqual(published.sort(), ['8000', '8443']);
    assert.equal(traefik.entryPoints.web.address, ':8000');
    assert.equal(traefik.entryPoints.websecure.address, ':8443');
  });

  test('HTTP redirects to the published HTTPS port (traefik.yml cannot read HTTPS_PORT)', () => {
    const traefik = parseYaml(read(paths.traefikStatic));
    assert.equal(traefik.entryPoints.web.http.redirections.entryPoint.to, `:${env.HTTPS_PORT}`);
    assert.match(read(paths.envExample), /Must stay 443[^\n]*\nHTTPS_PORT=443/);
  });
});

// Keys of the Traefik v3.7 install (static) configuration reference this stack uses or may use.
const TRAEFIK_STATIC_KEYS = new Set(`
global.checknewversion global.sendanonymoususage log.level log.format log.filepath log.nocolor
accesslog.format accesslog.filepath accesslog.bufferingsize accesslog.addinternals accesslog.fields.defaultmode
accesslog.fields.names._name_ accesslog.fields.headers.defaultmode accesslog.fields.headers.names._name_
accesslog.filters.statuscodes accesslog.filters.retryattempts accesslog.filters.minduration
entrypoints._name_.address entrypoints._name_.asdefault entrypoints._name_.reuseport
entrypoints._name_.http.redirections.entrypoint.to entrypoints._name_.http.redirections.entrypoint.scheme
entrypoints._name_.http.redirections.entrypoint.permanent entrypoints._name_.http.redirections.entrypoint.priority
entrypoints._name_.http.middlewares entrypoints._name_.http.maxheaderbytes entrypoints._name_.http.sanitizepath
entrypoints._name_.http.encodequerysemicolons entrypoints._name_.http.tls.options entrypoints._name_.http.tls.certresolver
entrypoints._name_.transport.respondingtimeouts.readtimeout entrypoints._name_.transport.respondingtimeouts.writetimeout
entrypoints._name_.transport.respondingtimeouts.idletimeout entrypoints._name_.transport.lifecycle.requestacceptgracetimeout
entrypoints._name_.transport.lifecycle.gracetimeout entrypoints._name_.transport.keepalivemaxrequests
entrypoints._name_.transport.keepalivemaxtime entrypoints._name_.forwardedheaders.trustedips
entrypoints._name_.forwardedheaders.insecure entrypoints._name_.proxyprotocol.trustedips entrypoints._name_.proxyprotocol.insecure
entrypoints._name_.observability.accesslogs entrypoints._name_.observability.metrics entrypoints._name_.observability.tracing
entrypoints._name_.observability.traceverbosity entrypoints._name_.http2.maxconcurrentstreams
ping.entrypoint ping.manualrouting ping.terminatingstatuscode
metrics.addinternals metrics.prometheus.entrypoint metrics.prometheus.addentrypointslabels metrics.prometheus.addrouterslabels
metrics.prometheus.addserviceslabels metrics.prometheus.buckets metrics.prometheus.manualrouting
tracing.servicename tracing.samplerate tracing.addinternals tracing.capturedrequestheaders tracing.capturedresponseheaders
tracing.safequeryparams tracing.otlp.grpc.endpoint tracing.otlp.grpc.insecure tracing.otlp.http.endpoint
api.insecure api.dashboard api.debug api.basepath api.disabledashboardad
providers.file.directory providers.file.filename providers.file.watch providers.providersthrottleduration
serverstransport.forwardingtimeouts.dialtimeout serverstransport.forwardingtimeouts.responseheadertimeout
serverstransport.forwardingtimeouts.idleconntimeout serverstransport.maxidleconnsperhost serverstransport.insecureskipverify
certificatesresolvers._name_.acme.email certificatesresolvers._name_.acme.caserver certificatesresolvers._name_.acme.storage
certificatesresolvers._name_.acme.keytype certificatesresolvers._name_.acme.certificatesduration
certificatesresolvers._name_.acme.dnschallenge.provider certificatesresolvers._name_.acme.dnschallenge.resolvers
certificatesresolvers._name_.acme.dnschallenge.propagation.delaybeforechecks core.defaultrulesyntax
`.trim().split(/\s+/));

// Keys of the Traefik v3.7 dynamic configuration reference (kv reference) for what is used here.
const TRAEFIK_DYNAMIC_KEYS = new Set(`
http.routers._name_.entrypoints http.routers._name_.rule http.routers._name_.service http.routers._name_.middlewares
http.routers._name_.priority http.routers._name_.tls.certresolver http.routers._name_.tls.options
http.routers._name_.tls.domains[].main http.routers._name_.tls.domains[].sans http.routers._name_.tls
http.services._name_.loadbalancer.servers[].url http.services._name_.loadbalancer.passhostheader
http.services._name_.loadbalancer.healthcheck.path http.services._name_.loadbalancer.healthcheck.interval
http.services._name_.loadbalancer.healthcheck.timeout http.services._name_.loadbalancer.healthcheck.unhealthyinterval
http.middlewares._name_.headers.stsseconds http.middlewares._name_.headers.stsincludesubdomains
http.middlewares._name_.headers.stspreload http.middlewares._name_.headers.forcestsheader
http.middlewares._name_.headers.contenttypenosniff http.middlewares._name_.headers.framedeny
http.middlewares._name_.headers.referrerpolicy http.middlewares._name_.headers.contentsecuritypolicy
http.middlewares._name_.headers.permissionspolicy http.middlewares._name_.headers.customresponseheaders._name_
http.middlewares._name_.headers.customrequestheaders._name_
http.middlewares._name_.ratelimit.average http.middlewares._name_.ratelimit.period http.middlewares._name_.ratelimit.burst
http.middlewares._name_.ratelimit.sourcecriterion.ipstrategy.depth http.middlewares._name_.inflightreq.amount
http.middlewares._name_.inflightreq.sourcecriterion.ipstrategy.depth http.middlewares._name_.compress.minresponsebodybytes
http.middlewares._name_.ipallowlist.sourcerange http.middlewares._name_.ipallowlist.ipstrategy.depth
http.middlewares._name_.basicauth.usersfile http.middlewares._name_.basicauth.realm http.middlewares._name_.basicauth.removeheader
tls.options._name_.minversion tls.options._name_.ciphersuites tls.options._name_.curvepreferences tls.options._name_.snistrict
tls.stores._name_.defaultcertificate.certfile tls.stores._name_.defaultcertificate.keyfile
tls.certificates[].certfile tls.certificates[].keyfile
`.trim().split(/\s+/));

describe('Traefik configuration uses documented keys only', () => {
  test('static configuration (traefik.yml)', () => {
    const keys = flatten(parseYaml(read(paths.traefikStatic)), '', ['entrypoints', 'certificatesresolvers',
      'accesslog.fields.names', 'accesslog.fields.headers.names']);
    assert.deepEqual(keys.filter((k) => !TRAEFIK_STATIC_KEYS.has(k)), []);
  });

  test('dynamic configuration (dynamic/*.yml, rendered)', () => {
    const { config } = loadDynamicDirectory(paths.traefikDynamic, traefikEnv(env));
    for (const section of ['routers', 'middlewares', 'services']) for (const v of Object.values(config.http[section])) delete v.file;
    const keys = flatten(config, '', ['http.routers', 'http.services', 'http.middlewares', 'tls.options', 'tls.stores',
      'http.middlewares._name_.headers.customresponseheaders', 'http.middlewares._name_.headers.customrequestheaders']).filter((k) => !/^(http\.(routers|middlewares|services)|tls\.(options|stores|certificates))$/.test(k));
    assert.deepEqual(keys.filter((k) => !TRAEFIK_DYNAMIC_KEYS.has(k)), []);
  });

  test('one server per API replica, health-checked on /readyz', () => {
    const { config } = loadDynamicDirectory(paths.traefikDynamic, { ...traefikEnv(env), API_REPLICAS: '3' });
    const lb = config.http.services.api.loadBalancer;
    assert.deepEqual(lb.servers.map((s) => s.url), [1, 2, 3].map((n) => `http://shortener-api-${n}:8080`));
    assert.equal(lb.healthCheck.path, '/readyz');
    assert.equal(services.traefik.environment.API_REPLICAS, services.api.deploy.replicas);
  });

  test('the local certificate is the default and the ACME resolver is opt-in', () => {
    const { config } = loadDynamicDirectory(paths.traefikDynamic, traefikEnv(env));
    assert.equal(config.tls.stores.default.defaultCertificate.certFile, '/run/secrets/tls_cert');
    for (const r of Object.values(config.http.routers)) assert.equal(r.tls.certResolver, env.TRAEFIK_CERT_RESOLVER);
    const acme = loadDynamicDirectory(paths.traefikDynamic, { ...traefikEnv(env), TRAEFIK_CERT_RESOLVER: 'cloudflare' }).config;
    const staticConfig = parseYaml(read(paths.traefikStatic));
    for (const r of Object.values(acme.http.routers)) assert.ok(staticConfig.certificatesResolvers[r.tls.certResolver]);
    assert.equal(staticConfig.certificatesResolvers.cloudflare.acme.dnsChallenge.provider, 'cloudflare');
    assert.equal(services.traefik.environment.CF_DNS_API_TOKEN_FILE, '/run/secrets/cf_dns_api_token');
  });
});

describe('OpenTelemetry Collector (observability/otel-collector/config.yaml)', () => {
  const config = yamlAt('otel-collector/config.yaml');

  test('every pipeline component is defined and memory_limiter runs first', () => {
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters']) {
        for (const id of pipeline[kind] ?? []) assert.ok(config[kind]?.[id] !== undefined, `${name}: ${kind} ${id}`);
      }
      assert.equal(pipeline.processors[0], 'memory_limiter', name);
    }
    for (const ext of config.service.extensions) assert.ok(ext in config.extensions);
  });

  test('uses the exporter names of 0.144+ (otlp_grpc, otlp_http) and exporter-side batching', () => {
    for (const id of Object.keys(config.exporters)) assert.doesNotMatch(id, /^(otlp|otlphttp)(\/|$)/, id);
    assert.equal(config.processors.batch, undefined);
    for (const id of ['otlp_grpc/tempo', 'otlp_http/loki']) assert.ok(config.exporters[id].sending_queue.batch, id);
  });

  test('routes traces to Tempo, logs to Loki\'s OTLP endpoint, and listens where compose points', () => {
    assert.equal(config.exporters['otlp_grpc/tempo'].endpoint, 'tempo:4317');
    assert.equal(config.exporters['otlp_http/loki'].endpoint, 'http://loki:3100/otlp');
    assert.deepEqual(config.service.pipelines.traces.exporters, ['otlp_grpc/tempo']);
    assert.deepEqual(config.service.pipelines.logs.exporters, ['otlp_http/loki']);
    assert.equal(config.receivers.otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
    const pull = config.service.telemetry.metrics.readers[0].pull.exporter.prometheus;
    assert.equal(`${pull.port}`, '8888');
  });
});

describe('Loki (observability/loki/config.yaml)', () => {
  const config = yamlAt('loki/config.yaml');
  test('TSDB + schema v13 with structured metadata (needed for OTLP logs)', () => {
    const schema = config.schema_config.configs.at(-1);
    assert.equal(schema.store, 'tsdb');
    assert.equal(schema.schema, 'v13');
    assert.equal(config.limits_config.allow_structured_metadata, true);
  });
  test('stores everything in the mounted volume, with compactor retention', () => {
    const mount = services.loki.volumes.map(parseVolume).find((v) => v.source === 'loki-data').target;
    assert.ok(config.common.path_prefix.startsWith(mount));
    for (const dir of Object.values(config.common.storage.filesystem)) assert.ok(dir.startsWith(mount), dir);
    assert.ok(config.compactor.working_directory.startsWith(mount));
    assert.equal(config.compactor.retention_enabled, true);
    assert.equal(config.compactor.delete_request_store, 'filesystem');
    assert.equal(config.server.http_listen_port, 3100);
  });
});

describe('Tempo (observability/tempo/config.yaml)', () => {
  const config = yamlAt('tempo/config.yaml');
  test('receives OTLP on all interfaces (2.7+ default is localhost)', () => {
    assert.equal(config.distributor.receivers.otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
  });
  test('metrics generator: service graphs and span metrics, remote-written with exemplars', () => {
    assert.deepEqual(config.overrides.defaults.metrics_generator.processors.slice(0, 2), ['service-graphs', 'span-metrics']);
    const rw = config.metrics_generator.storage.remote_write[0];
    assert.equal(rw.url, 'http://prometheus:9090/api/v1/write');
    assert.equal(rw.send_exemplars, true);
  });
  test('stores everything in the mounted volume', () => {
    const mount = services.tempo.volumes.map(parseVolume).find((v) => v.source === 'tempo-data').target;
    for (const p of [config.storage.trace.wal.path, config.storage.trace.local.path, config.metrics_generator.storage.path,
      config.metrics_generator.traces_storage.path]) assert.ok(p.startsWith(mount), p);
  });
});

describe('Grafana provisioning (observability/grafana/provisioning)', () => {
  const { datasources } = yamlAt('grafana/provisioning/datasources/datasources.yaml');
  const byUid = Object.fromEntries(datasources.map((d) => [d.uid, d]));

  test('fixed uids prometheus, loki and tempo, pointing at compose services', () => {
    assert.deepEqual(Object.keys(byUid).sort(), ['loki', 'prometheus', 'tempo']);
    for (const [uid, port] of [['prometheus', 9090], ['loki', 3100], ['tempo', 3200]]) {
      assert.equal(byUid[uid].url, `http://${uid}:${port}`);
      assert.equal(byUid[uid].type, uid);
      assert.ok(services[uid], `${uid} is a compose service`);
    }
  });

  test('cross-links: exemplars -> Tempo, logs -> Tempo, traces -> Loki and Prometheus', () => {
    assert.ok(byUid.prometheus.jsonData.exemplarTraceIdDestinations.some((d) => d.name === 'trace_id' && d.datasourceUid === 'tempo'));
    const derived = byUid.loki.jsonData.derivedFields[0];
    assert.deepEqual([derived.matcherType, derived.matcherRegex, derived.datasourceUid], ['label', 'trace_id', 'tempo']);
    const tempo = byUid.tempo.jsonData;
    assert.equal(tempo.tracesToLogsV2.datasourceUid, 'loki');
    assert.equal(tempo.serviceMap.datasourceUid, 'prometheus');
    assert.equal(tempo.tracesToMetrics.datasourceUid, 'prometheus');
    assert.equal(tempo.nodeGraph.enabled, true);
  });

  test('every datasourceUid referenced exists', () => {
    const refs = JSON.stringify(datasources).match(/"datasourceUid":"[^"]+"/g).map((s) => s.split(':')[1].replace(/"/g, ''));
    for (const uid of refs) assert.ok(byUid[uid], uid);
  });

  test('the dashboards provider reads the directory compose mounts', () => {
    const { providers } = yamlAt('grafana/provisioning/dashboards/dashboards.yaml');
    const mount = services.grafana.volumes.map(parseVolume).find((v) => v.source.endsWith('observability/grafana/dashboards'));
    assert.equal(providers[0].options.path, mount.target);
    assert.equal(providers[0].type, 'file');
    const provisioning = services.grafana.volumes.map(parseVolume).find((v) => v.target === '/etc/grafana/provisioning');
    assert.ok(provisioning?.readOnly);
  });
});
