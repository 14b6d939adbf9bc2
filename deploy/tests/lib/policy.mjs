// The deployment policy, as functions returning violations ({ rule, subject, message }).
// policy.test.mjs runs them on the real configuration (must be clean) and on deliberately bad
// fixtures (must report each rule), so every rule is shown able to fail.
import { environmentMap, namedMap, parsePort, parseVolume } from './compose.mjs';
import { mayMatch, ruleHosts } from './traefik.mjs';

// Explicit exceptions, each with its reason. Nothing else is exempt.
export const ONE_SHOT_JOBS = {
  migrator: 'applies the schema and exits 0; API and worker wait for service_completed_successfully',
  'volume-init': 'chowns freshly created named volumes and exits',
};
export const NO_PROBE_POSSIBLE = {
  'otel-collector': 'image is FROM scratch and the collector has no probe subcommand; Prometheus scrapes :8888',
  tempo: 'image is distroless and Tempo 2.x has no probe subcommand (grafana/tempo#6536)',
};
export const ROOT_ALLOWED = {
  'volume-init': 'chown of root-owned volume roots; keeps only CHOWN and has no network',
  cadvisor: 'reads root-owned /var/lib/docker; no capabilities, no Docker socket',
  'docker-socket-proxy': 'opens the root-owned Docker socket; no capabilities, GET on containers/info only',
};
export const CAP_ADD_ALLOWED = { 'volume-init': ['CHOWN'] };
// The socket is root on the host even read-only: only the filtering proxy may hold it.
export const DOCKER_SOCKET_ALLOWED = { 'docker-socket-proxy': 'POST=0, CONTAINERS=1, INFO=1; cAdvisor reads through it' };
// Host paths that are, or contain, the Docker socket.
const DOCKER_SOCKET_SOURCE = /^(\/var)?\/run(\/docker(\.sock)?)?\/?$|docker\.sock$/;
export const EDGE_SERVICE = 'traefik';

// Where each pinned image is published, per version. A registry that stopped receiving releases
// keeps serving old tags, so a bumped tag there fails only at `docker compose pull`.
// `from`/`to`: inclusive semver bounds of the tags that registry carries.
export const IMAGE_SOURCES = {
  // docker-library official images (Docker Hub library/): traefik, postgres, redis, busybox.
  TRAEFIK_IMAGE: [{ repo: 'traefik' }],
  POSTGRES_IMAGE: [{ repo: 'postgres' }],
  REDIS_IMAGE: [{ repo: 'redis' }],
  BUSYBOX_IMAGE: [{ repo: 'busybox' }],
  // dotnet/dotnet-docker README: images are published to mcr.microsoft.com only.
  DOTNET_SDK_IMAGE: [{ repo: 'mcr.microsoft.com/dotnet/sdk' }],
  DOTNET_RUNTIME_IMAGE: [{ repo: 'mcr.microsoft.com/dotnet/aspnet' }],
  // open-telemetry/opentelemetry-collector-releases: Docker Hub otel/ and ghcr.io.
  OTEL_COLLECTOR_IMAGE: [{ repo: 'otel/opentelemetry-collector-contrib' },
    { repo: 'ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib' }],
  // prometheus/* Makefile.common (DOCKER_REPO): Docker Hub prom/ and quay.io/prometheus.
  PROMETHEUS_IMAGE: [{ repo: 'prom/prometheus' }, { repo: 'quay.io/prometheus/prometheus' }],
  ALERTMANAGER_IMAGE: [{ repo: 'prom/alertmanager' }, { repo: 'quay.io/prometheus/alertmanager' }],
  NODE_EXPORTER_IMAGE: [{ repo: 'prom/node-exporter' }, { repo: 'quay.io/prometheus/node-exporter' }],
  BLACKBOX_EXPORTER_IMAGE: [{ repo: 'prom/blackbox-exporter' }, { repo: 'quay.io/prometheus/blackbox-exporter' }],
  // prometheus-community/postgres_exporter README: Docker Hub and quay.io prometheuscommunity/.
  POSTGRES_EXPORTER_IMAGE: [{ repo: 'prometheuscommunity/postgres-exporter' }, { repo: 'quay.io/prometheuscommunity/postgres-exporter' }],
  // oliver006/redis_exporter README: Docker Hub, ghcr.io and quay.io.
  REDIS_EXPORTER_IMAGE: [{ repo: 'oliver006/redis_exporter' }, { repo: 'ghcr.io/oliver006/redis_exporter' }, { repo: 'quay.io/oliver006/redis_exporter' }],
  // Grafana Labs: Docker Hub grafana/.
  GRAFANA_IMAGE: [{ repo: 'grafana/grafana' }],
  LOKI_IMAGE: [{ repo: 'grafana/loki' }],
  TEMPO_IMAGE: [{ repo: 'grafana/tempo' }],
  // google/cadvisor#3696: from v0.53.0 releases are pushed to ghcr.io/google/cadvisor only
  // (#3806 moved the docs); gcr.io/cadvisor/cadvisor ends at v0.52.x.
  CADVISOR_IMAGE: [{ repo: 'gcr.io/cadvisor/cadvisor', to: '0.52.99' }, { repo: 'ghcr.io/google/cadvisor', from: '0.53.0' }],
  // The read-only Docker API proxy in front of cAdvisor: Docker Hub and ghcr.io (Tecnativa/docker-socket-proxy README).
  DOCKER_SOCKET_PROXY_IMAGE: [{ repo: 'tecnativa/docker-socket-proxy' }, { repo: 'ghcr.io/tecnativa/docker-socket-proxy' }],
};

const semver = (tag) => (/^v?(\d+)\.(\d+)\.(\d+)/.exec(tag ?? '') ?? []).slice(1, 4).map(Number);
const compareSemver = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const splitImage = (image) => {
  const m = /^(.+?)(?::([^/:@]+))?(?:@.+)?$/.exec(image);
  return { repo: m[1].replace(/^docker\.io\/(library\/)?/, ''), tag: m[2] };
};

/** Every *_IMAGE of an .env map comes from a registry its project publishes that version to. */
export function checkImageSources(envMap, sources = IMAGE_SOURCES) {
  const out = [];
  for (const [key, image] of Object.entries(envMap).filter(([k]) => k.endsWith('_IMAGE'))) {
    const { repo, tag } = splitImage(image);
    const entries = sources[key];
    if (!entries) { out.push(violation('image-registry', key, `${image}: no entry in IMAGE_SOURCES (say where the project publishes it)`)); continue; }
    const version = semver(tag);
    const ok = entries.some((e) => e.repo === repo
      && (!e.from || (version.length === 3 && compareSemver(version, semver(e.from)) >= 0))
      && (!e.to || (version.length === 3 && compareSemver(version, semver(e.to)) <= 0)));
    if (!ok) out.push(violation('image-registry', key, `${image}: ${repo} does not publish ${tag}; use ${entries.map((e) => e.repo).join(' or ')}`));
  }
  return out;
}

// Executables in each image, for healthchecks (a probe calling a missing binary never turns
// healthy, and everything that waits on service_healthy never starts). Sources:
//  - traefik, postgres/redis -alpine, busybox, redis_exporter -alpine, cadvisor: Alpine/BusyBox
//    bases (traefik-library-image, docker-library, google/cadvisor deploy/Dockerfile): sh, wget.
//  - prom/*, prometheuscommunity/postgres-exporter: FROM quay.io/prometheus/busybox (sh, wget).
//  - grafana/grafana: Alpine + `apk add bash curl` (grafana Dockerfile).
//  - grafana/loki: gcr.io/distroless/static:debug with /busybox (cmd/loki/Dockerfile), `loki -health`.
//  - grafana/tempo: distroless, no shell (grafana/tempo#6536); otel collector contrib: FROM scratch.
//  - oliver006/redis_exporter without -alpine: FROM scratch.
const BUSYBOX = ['sh', 'wget', 'cat', 'grep', 'stat', 'chown', 'test', '['];
export const IMAGE_TOOLS = {
  traefik: [...BUSYBOX, 'traefik'],
  postgres: [...BUSYBOX, 'pg_isready', 'psql'],
  redis: [...BUSYBOX, 'redis-cli'],
  busybox: BUSYBOX,
  'prom/prometheus': BUSYBOX, 'prom/alertmanager': BUSYBOX, 'prom/node-exporter': BUSYBOX,
  'prom/blackbox-exporter': BUSYBOX, 'prometheuscommunity/postgres-exporter': BUSYBOX,
  'oliver006/redis_exporter': (tag) => (/-alpine$/.test(tag) ? BUSYBOX : ['redis_exporter']),
  'grafana/grafana': [...BUSYBOX, 'bash', 'curl', 'grafana'],
  'grafana/loki': [...BUSYBOX, 'loki', '/usr/bin/loki'],
  'grafana/tempo': ['tempo'],
  'otel/opentelemetry-collector-contrib': ['otelcol-contrib'],
  'ghcr.io/google/cadvisor': [...BUSYBOX, 'cadvisor'],
  'tecnativa/docker-socket-proxy': [...BUSYBOX, 'haproxy'],
};
const SHELL_BUILTINS = new Set(['exit', 'true', 'false', 'echo', 'test', '[', 'cd', 'exec']);

/** The executables a compose healthcheck test runs, or null when it runs none of its own. */
export function healthcheckCommands(test) {
  if (!Array.isArray(test) || test[0] === 'NONE') return null;
  if (test[0] === 'CMD') return [test[1]];
  const script = test[0] === 'CMD-SHELL' ? test.slice(1).join(' ') : String(test);
  const commands = new Set(['sh']);
  for (const m of script.matchAll(/\$\(\s*([\w./-]+)/g)) commands.add(m[1]);
  for (const segment of script.split(/\|\||&&|;|\|/)) {
    const words = segment.trim().replace(/"[^"]*"|'[^']*'/g, 'Q').split(/\s+/).filter((w) => !/^[A-Za-z_]\w*=/.test(w));
    if (words[0] && !SHELL_BUILTINS.has(words[0])) commands.add(words[0]);
  }
  return [...commands];
}

const SENSITIVE_KEY = /(pass(word|wd)?|secret|token|api_?key|private_?key|credential)/i;
const FILE_KEY = /(_?_FILE|File)$/;
const SECRET_PATH = /^\/run\/secrets\//;
const SECRET_IN_VALUE = /(password|pwd)\s*=\s*[^;\s]+|:\/\/[^/\s:@]+:[^@\s]+@/i;
const SECRET_IN_ARG = /(password|passwd|requirepass|secret|token)/i;

const violation = (rule, subject, message) => ({ rule, subject, message });

/** Parses FROM/USER/HEALTHCHECK/EXPOSE/ARG of a Dockerfile into stages, with inheritance. */
export function parseDockerfile(text) {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const globalArgs = {};
  const stages = {};
  let current = null;
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (instruction.toUpperCase()) {
      case 'ARG': {
        const [name, value = ''] = args.split('=');
        if (!current) globalArgs[name] = value;
        break;
      }
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        const base = stages[m[1]];
        current = {
          name: m[2] ?? `stage${Object.keys(stages).length}`,
          from: m[1],
          user: base?.user ?? null,
          healthcheck: base?.healthcheck ?? null,
          expose: [...(base?.expose ?? [])],
          env: { ...(base?.env ?? {}) },
          labels: { ...(base?.labels ?? {}) },
          copies: [],
          runs: [],
          entrypoint: base?.entrypoint ?? null,
        };
        stages[current.name] = current;
        break;
      }
      case 'USER': current.user = args; break;
      case 'HEALTHCHECK': current.healthcheck = /\bNONE\b/i.test(args) ? null : args; break;
      case 'EXPOSE': current.expose.push(...args.split(/\s+/)); break;
      case 'ENV': for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) current.env[m[1]] = m[2].replace(/^"|"$/g, ''); break;
      case 'LABEL': for (const m of args.matchAll(/([\w.-]+)=("[^"]*"|\S+)/g)) current.labels[m[1]] = m[2].replace(/^"|"$/g, ''); break;
      case 'COPY': current.copies.push(args); break;
      case 'RUN': current.runs.push(args); break;
      case 'ENTRYPOINT': current.entrypoint = args; break;
      default: break;
    }
  }
  return { globalArgs, stages };
}

const isRoot = (user) => /^(0|root)(:.*)?$/.test(String(user).trim());

/**
 * Compose policy over a merged model. `ctx`: { allowedImages: Set, allowedPorts: Set of published
 * host ports, dockerfileStages: stages of apps/Dockerfile (for build targets) }.
 */
export function checkCompose(model, ctx) {
  const out = [];
  const services = model.services ?? {};
  for (const [name, svc] of Object.entries(services)) {
    const oneShot = name in ONE_SHOT_JOBS;
    const stage = svc.build?.target ? ctx.dockerfileStages?.[svc.build.target] : undefined;

    // Images: an exact tag, and one of the pins of .env.example (or our own build).
    const image = svc.image ?? '';
    const tag = /:([^/:@]+)$/.exec(image)?.[1];
    if (!image || !tag || tag === 'latest') {
      out.push(violation('pinned-image', name, `image "${image}" has no explicit tag`));
    } else if (!ctx.allowedImages.has(image)) {
      out.push(violation('pinned-image', name, `image "${image}" is not pinned in .env.example`));
    }
    if (svc.build && !stage) out.push(violation('pinned-image', name, `build target "${svc.build?.target}" not found in the Dockerfile`));

    // Healthchecks.
    const hc = svc.healthcheck;
    const hasTest = hc && !hc.disable && (hc.test ? !(Array.isArray(hc.test) && hc.test[0] === 'NONE') : !!stage?.healthcheck);
    if (!oneShot && !(name in NO_PROBE_POSSIBLE) && !hasTest) {
      out.push(violation('healthcheck', name, 'no healthcheck (and not a listed one-shot job or probe-less image)'));
    }

    // Healthchecks only call what the image ships.
    const probe = healthcheckCommands(hc?.disable ? null : hc?.test);
    if (probe && image) {
      const { repo, tag } = splitImage(image);
      const entry = IMAGE_TOOLS[repo];
      const tools = typeof entry === 'function' ? entry(tag) : entry;
      if (!tools) {
        out.push(violation('healthcheck-tool', name, `image ${repo} is not in IMAGE_TOOLS: say which executables it ships`));
      } else {
        for (const command of probe) {
          if (!tools.includes(command)) out.push(violation('healthcheck-tool', name, `healthcheck runs ${command}, which ${repo}:${tag} does not ship`));
        }
      }
    }

    // Resources.
    const memory = svc.deploy?.resources?.limits?.memory ?? svc.mem_limit;
    if (!memory) out.push(violation('memory-limit', name, 'no memory limit (deploy.resources.limits.memory)'));

    // Users.
    const user = svc.user ?? stage?.user;
    if (user === undefined || user === null || user === '') {
      out.push(violation('non-root', name, 'no user set: the image default may be root'));
    } else if (isRoot(user) && !(name in ROOT_ALLOWED)) {
      out.push(violation('non-root', name, `runs as root ("${user}")`));
    }

    // Published ports: Traefik's 80/443 only, bound to an explicit interface.
    for (const port of svc.ports ?? []) {
      const p = parsePort(port);
      if (name !== EDGE_SERVICE) {
        out.push(violation('published-port', name, `publishes ${JSON.stringify(port)}; only ${EDGE_SERVICE} may publish ports`));
      } else if (!ctx.allowedPorts.has(p.published)) {
        out.push(violation('published-port', name, `publishes host port ${p.published}; only ${[...ctx.allowedPorts].join('/')} are allowed`));
      } else if (!p.hostIp) {
        out.push(violation('published-port', name, `port ${p.published} is not bound to an explicit interface`));
      }
    }
    if (svc.network_mode === 'host') out.push(violation('published-port', name, 'network_mode: host exposes every listening port'));

    // Secrets only from files.
    for (const [key, value] of Object.entries(environmentMap(svc.environment))) {
      if (value === null || value === undefined || value === '') continue;
      const text = String(value);
      if (SENSITIVE_KEY.test(key) && !(FILE_KEY.test(key) && SECRET_PATH.test(text))) {
        out.push(violation('literal-secret', name, `environment ${key} holds a literal value; use a *_FILE pointing at /run/secrets`));
      } else if (SECRET_IN_VALUE.test(text)) {
        out.push(violation('literal-secret', name, `environment ${key} embeds a credential`));
      }
    }
    const command = [].concat(svc.command ?? [], svc.entrypoint ?? []).map(String);
    command.forEach((arg, i) => {
      if (/file/i.test(arg) || !SECRET_IN_ARG.test(arg)) return;
      const inline = /(password|passwd|requirepass|secret|token)[\w.-]*(=|\s+)\S+/i.test(arg);
      const flagThenValue = /^--?([\w.-]*[.-])?(password|passwd|requirepass|secret|token)$/i.test(arg) && command[i + 1] !== undefined;
      if (inline || flagThenValue) out.push(violation('literal-secret', name, `command argument carries a credential: ${arg.slice(0, 60)}`));
    });

    // Hardening.
    const securityOpt = (svc.security_opt ?? []).map(String);
    if (!securityOpt.some((o) => /^no-new-privileges(:true)?$/.test(o))) {
      out.push(violation('no-new-privileges', name, 'security_opt lacks no-new-privileges:true'));
    }
    if (!(svc.cap_drop ?? []).map((c) => String(c).toUpperCase()).includes('ALL')) {
      out.push(violation('cap-drop-all', name, 'cap_drop lacks ALL'));
    }
    const allowedCaps = CAP_ADD_ALLOWED[name] ?? [];
    for (const cap of svc.cap_add ?? []) {
      if (!allowedCaps.includes(String(cap).toUpperCase().replace(/^CAP_/, ''))) {
        out.push(violation('cap-drop-all', name, `cap_add ${cap} is not in the documented allow-list`));
      }
    }
    if (svc.privileged) out.push(violation('privileged', name, 'privileged: true'));
    if (svc.read_only !== true) out.push(violation('read-only', name, 'root filesystem is writable (read_only: true)'));

    // Operations.
    const opts = svc.logging?.options ?? {};
    if (!opts['max-size'] || !opts['max-file']) out.push(violation('log-rotation', name, 'logging without max-size/max-file'));
    const restart = svc.restart ?? 'no';
    if (oneShot && restart !== 'no') out.push(violation('restart', name, `one-shot job with restart: ${restart}`));
    if (!oneShot && !/^(always|unless-stopped|on-failure(:\d+)?)$/.test(restart)) {
      out.push(violation('restart', name, `long-running service with restart: ${restart}`));
    }
    for (const [dep, spec] of Object.entries(namedMap(svc.depends_on))) {
      if (dep in ONE_SHOT_JOBS && spec.condition !== 'service_completed_successfully') {
        out.push(violation('start-order', name, `depends on one-shot ${dep} without service_completed_successfully`));
      }
      if (!spec.condition) out.push(violation('start-order', name, `depends on ${dep} without a condition`));
      const target = services[dep];
      const targetStage = target?.build?.target ? ctx.dockerfileStages?.[target.build.target] : undefined;
      // A healthcheck block without a test keeps the image's HEALTHCHECK command (compose overrides field by field).
      const targetProbe = target?.healthcheck?.disable ? undefined : target?.healthcheck?.test ?? targetStage?.healthcheck;
      if (spec.condition === 'service_healthy' && target && !targetProbe) {
        out.push(violation('start-order', name, `waits for ${dep} to be healthy, but ${dep} has no healthcheck: compose never starts ${name}`));
      }
    }
    for (const volume of svc.volumes ?? []) {
      const v = parseVolume(volume);
      if (v.type === 'bind' && DOCKER_SOCKET_SOURCE.test(v.source ?? '')) {
        if (!(name in DOCKER_SOCKET_ALLOWED)) out.push(violation('docker-socket', name, `mounts the Docker socket (${v.source}); go through docker-socket-proxy`));
        else if (!v.readOnly) out.push(violation('docker-socket', name, 'mounts the Docker socket writable'));
      }
    }
  }
  return out;
}

/** Paths of the application that must never be reachable through the public entrypoint. */
export const INTERNAL_PATHS = ['/metrics', '/livez', '/readyz', '/healthz', '/version', '/openapi/v1.json',
  '/admin', '/admin/faults', '/scalar', '/lag'];

/** Traefik dynamic configuration policy. `appServices`: Traefik services that front our API. */
export function checkTraefikDynamic(config, { appServices = ['api'] } = {}) {
  const out = [];
  const middlewares = config.http?.middlewares ?? {};
  const services = config.http?.services ?? {};
  const resolve = (names, seen = new Set()) => names.flatMap((n) => {
    const local = n.replace(/@file$/, '');
    if (seen.has(local)) return [];
    seen.add(local);
    const chain = middlewares[local]?.chain?.middlewares;
    return chain ? [local, ...resolve(chain, seen)] : [local];
  });
  for (const [name, router] of Object.entries(config.http?.routers ?? {})) {
    if (!router.tls || typeof router.tls !== 'object') out.push(violation('router-tls', name, 'router has no tls section'));
    for (const ep of router.entryPoints ?? ['(all entrypoints)']) {
      if (ep !== 'websecure') out.push(violation('router-tls', name, `router listens on ${ep}, not only on websecure`));
    }
    const used = resolve(router.middlewares ?? []);
    for (const m of used) {
      if (!m.includes('@') && !middlewares[m]) out.push(violation('router-middlewares', name, `middleware ${m} is not defined`));
    }
    if (!used.some((m) => m.startsWith('security-headers'))) out.push(violation('router-middlewares', name, 'no security-headers middleware'));
    if (!used.some((m) => m.startsWith('rate-limit'))) out.push(violation('router-middlewares', name, 'no rate-limit middleware'));
    const service = String(router.service ?? '');
    if (!service.endsWith('@internal') && !services[service.replace(/@file$/, '')]) {
      out.push(violation('router-service', name, `service ${service} is not defined`));
    }
    if (!router.rule) { out.push(violation('internal-path', name, 'router without a rule matches everything')); continue; }
    const hosts = ruleHosts(router.rule);
    const paths = appServices.includes(service.replace(/@file$/, '')) ? INTERNAL_PATHS : ['/metrics'];
    for (const host of hosts.length ? hosts : ['any.example']) {
      for (const path of paths) {
        if (['GET', 'HEAD', 'POST'].some((method) => mayMatch(router.rule, { host, path, method }))) {
          out.push(violation('internal-path', name, `${host}${path} is routed publicly`));
        }
      }
    }
  }
  // Strict SNI never falls back to the default certificate (Traefik pkg/tls/tlsmanager.go: sniStrict is
  // checked before store.DefaultCertificate), so a name must match a listed certificate or a resolver's.
  const listedCertificates = config.tls?.certificates ?? [];
  for (const [name, router] of Object.entries(config.http?.routers ?? {})) {
    const optionName = String(router.tls?.options ?? 'default').replace(/@file$/, '');
    if (config.tls?.options?.[optionName]?.sniStrict && listedCertificates.length === 0 && !router.tls?.certResolver) {
      out.push(violation('sni-strict', name, `tls option ${optionName} has sniStrict but no certificate is listed under tls.certificates and the router has no certResolver: every handshake fails`));
    }
  }
  // Auth last: the limiter throttles password guessing and the 401s carry the security headers.
  const kindOf = (m) => {
    const def = middlewares[m.replace(/@file$/, '')] ?? {};
    if (def.rateLimit || def.inFlightReq) return 'limit';
    if (def.headers) return 'headers';
    if (def.ipAllowList) return 'allow';
    if (def.basicAuth || def.digestAuth || def.forwardAuth) return 'auth';
    return 'other';
  };
  for (const [name, router] of Object.entries(config.http?.routers ?? {})) {
    const kinds = (router.middlewares ?? []).map(kindOf);
    const auth = kinds.indexOf('auth');
    if (auth < 0) continue;
    if (!kinds.slice(0, auth).includes('limit')) out.push(violation('middleware-order', name, 'authentication runs before the rate limit: password guessing is not throttled'));
    if (!kinds.slice(0, auth).includes('headers')) out.push(violation('middleware-order', name, 'authentication runs before the security headers: 401 responses lack them'));
    if (!kinds.slice(0, auth).includes('allow')) out.push(violation('middleware-order', name, 'authentication without an IP allow list before it: the password is the only gate'));
  }
  for (const [optionName, options] of Object.entries(config.tls?.options ?? {})) {
    const curves = options.curvePreferences;
    if (curves && curves[0] !== 'X25519MLKEM768') {
      out.push(violation('tls-options', optionName, `curvePreferences [${curves.join(', ')}] does not start with X25519MLKEM768: post-quantum key exchange is off`));
    }
  }
  const minVersion = config.tls?.options?.default?.minVersion;
  if (!['VersionTLS12', 'VersionTLS13'].includes(minVersion)) {
    out.push(violation('tls-options', 'default', `tls.options.default.minVersion is ${minVersion ?? 'unset'} (TLS 1.2 at least)`));
  }
  return out;
}

/** Traefik static configuration policy. */
export function checkTraefikStatic(config) {
  const out = [];
  if (config.api?.insecure) out.push(violation('dashboard-auth', 'api', 'api.insecure exposes the dashboard without authentication'));
  const web = config.entryPoints?.web;
  if (web && web.http?.redirections?.entryPoint?.scheme !== 'https') {
    out.push(violation('https-redirect', 'web', 'entrypoint web does not redirect to https'));
  }
  for (const [name, resolver] of Object.entries(config.certificatesResolvers ?? {})) {
    // Without an email lego registers a new ACME account on every start (and expiry mail goes nowhere).
    if (resolver.acme && !resolver.acme.email) out.push(violation('acme-email', name, 'ACME resolver has no email'));
  }
  for (const [name, ep] of Object.entries(config.entryPoints ?? {})) {
    if (ep.forwardedHeaders?.insecure || ep.proxyProtocol?.insecure) {
      out.push(violation('trusted-proxies', name, 'trusts forwarded headers from anyone'));
    }
  }
  return out;
}

const ipv4 = (text) => text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const inCidr = (ip, cidr) => {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
};

/**
 * X-Forwarded-For is trusted only from the edge's fixed backend address (/32), which lies in the
 * subnet and outside the range Docker assigns to other containers. Returns messages.
 */
export function checkForwardedTrust(model) {
  const out = [];
  const edgeAddress = model.services?.[EDGE_SERVICE]?.networks?.backend?.ipv4_address;
  const ipam = model.networks?.backend?.ipam?.config?.[0] ?? {};
  if (!edgeAddress) out.push(`${EDGE_SERVICE}: no fixed ipv4_address on backend`);
  else {
    if (!inCidr(edgeAddress, ipam.subnet)) out.push(`${EDGE_SERVICE}: ${edgeAddress} is outside ${ipam.subnet}`);
    if (!ipam.ip_range || inCidr(edgeAddress, ipam.ip_range)) out.push(`${EDGE_SERVICE}: ${edgeAddress} is inside the dynamic range ${ipam.ip_range ?? '(whole subnet)'}`);
  }
  const trusted = (svc) => Object.entries(environmentMap(svc.environment))
    .filter(([key]) => /^ForwardedHeaders__Known(Networks|Proxies)__/.test(key)).map(([, value]) => String(value));
  const onlyEdge = (svc) => trusted(svc).every((value) => value === `${edgeAddress}/32` || value === edgeAddress);
  // A relay (the web console passes on its users' addresses) may be trusted too: a fixed address outside the
  // dynamic range, so no other container can take it, on a service that itself trusts only the edge.
  const relays = new Set(Object.entries(model.services ?? {})
    .filter(([name, svc]) => name !== EDGE_SERVICE && svc.networks?.backend?.ipv4_address && ipam.ip_range
      && inCidr(svc.networks.backend.ipv4_address, ipam.subnet) && !inCidr(svc.networks.backend.ipv4_address, ipam.ip_range)
      && trusted(svc).length > 0 && onlyEdge(svc))
    .flatMap(([, svc]) => [svc.networks.backend.ipv4_address, `${svc.networks.backend.ipv4_address}/32`]));
  for (const [name, svc] of Object.entries(model.services ?? {})) {
    for (const value of trusted(svc)) {
      if (value === `${edgeAddress}/32` || value === edgeAddress) continue;
      if (relays.has(value) && !relays.has(svc.networks?.backend?.ipv4_address)) continue;
      out.push(`${name}: trusts ${value}, not only ${EDGE_SERVICE} (${edgeAddress}/32) or a fixed-address relay that trusts only it`);
    }
  }
  return out;
}

/** Cloudflare's ranges as infra/terraform's firewall admits them (the network module's defaults). */
export function terraformCdnRanges(variablesTf) {
  const list = (name) => {
    const block = variablesTf.match(new RegExp(`variable "${name}" \\{[\\s\\S]*?default\\s*=\\s*\\[([\\s\\S]*?)\\]`));
    return block ? [...block[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
  };
  return [...list('web_allowed_ipv4_cidrs'), ...list('web_allowed_ipv6_cidrs')];
}

const sameSet = (a, b) => a.length === b.length && new Set(a).size === new Set([...a, ...b]).size;

/**
 * The client address behind Cloudflare, end to end. Traefik keeps X-Forwarded-* only from Cloudflare's ranges
 * (the firewall's list); its limiters key on ipStrategy.depth TRAEFIK_CLIENT_IP_DEPTH (0 or 1, nothing that
 * reads a forgeable header); the API and the console trust the same ranges and read two entries in; and the
 * header middlewares remove a client's X-Forwarded-Host that Cloudflare would pass on. Returns messages.
 */
export function checkClientAddress({ staticConfig, dynamic, model, cdnRanges, depth }) {
  const out = [];
  if (cdnRanges.length === 0) out.push('no Cloudflare ranges found in infra/terraform');
  const trustedIPs = staticConfig.entryPoints?.websecure?.forwardedHeaders?.trustedIPs ?? [];
  if (!sameSet(trustedIPs.map(String), cdnRanges)) {
    out.push(`websecure trusts X-Forwarded-* from [${trustedIPs.join(', ')}], not exactly the Terraform firewall's Cloudflare ranges`);
  }
  for (const [name, ep] of Object.entries(staticConfig.entryPoints ?? {})) {
    if (ep.forwardedHeaders?.notAppendXForwardedFor) out.push(`${name}: notAppendXForwardedFor hides direct clients' addresses from the API`);
  }
  if (!['0', '1'].includes(String(depth))) out.push(`TRAEFIK_CLIENT_IP_DEPTH is ${depth}: 0 (direct clients) or 1 (behind Cloudflare)`);
  for (const [name, middleware] of Object.entries(dynamic.http?.middlewares ?? {})) {
    const limiter = middleware.rateLimit ?? middleware.inFlightReq ?? middleware.ipAllowList;
    if (!limiter) continue;
    for (const range of middleware.ipAllowList?.sourceRange ?? []) {
      if (!/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(String(range))) out.push(`${name}: sourceRange entry ${JSON.stringify(range)} is not a CIDR`);
    }
    if (middleware.ipAllowList && (middleware.ipAllowList.sourceRange ?? []).length === 0) out.push(`${name}: an empty allow list`);
    // ipAllowList has its ipStrategy at the top; the limiters under sourceCriterion.
    const criterion = middleware.ipAllowList ? { ipStrategy: limiter.ipStrategy } : limiter.sourceCriterion ?? {};
    if (criterion.requestHeaderName || criterion.requestHost) {
      out.push(`${name}: keys on ${criterion.requestHeaderName ? `header ${criterion.requestHeaderName}` : 'the host'}, which a client chooses`);
    }
    if (criterion.ipStrategy?.excludedIPs) out.push(`${name}: excludedIPs reads past Cloudflare's entry into what the client sent`);
    if (String(criterion.ipStrategy?.depth) !== String(depth)) {
      out.push(`${name}: ipStrategy.depth ${criterion.ipStrategy?.depth} is not TRAEFIK_CLIENT_IP_DEPTH (${depth})`);
    }
    if (Number(criterion.ipStrategy?.depth) >= 1 && trustedIPs.length === 0) {
      out.push(`${name}: depth ${criterion.ipStrategy.depth} with no trusted proxy: every client gets the empty address, one bucket`);
    }
  }
  if (trustedIPs.length > 0) {
    for (const name of ['security-headers', 'security-headers-ui']) {
      const removed = dynamic.http?.middlewares?.[name]?.headers?.customRequestHeaders ?? {};
      if (removed['X-Forwarded-Host'] !== '') out.push(`${name}: a client's X-Forwarded-Host passes through Cloudflare to the backend`);
    }
  }
  for (const service of ['api', 'console']) {
    const environment = environmentMap(model.services?.[service]?.environment);
    const cdn = String(environment.ForwardedHeaders__CdnNetworks ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (!sameSet(cdn, cdnRanges)) out.push(`${service}: ForwardedHeaders__CdnNetworks is not exactly the Terraform firewall's Cloudflare ranges`);
    if (String(environment.ForwardedHeaders__ForwardLimit) !== '2') {
      out.push(`${service}: ForwardedHeaders__ForwardLimit ${environment.ForwardedHeaders__ForwardLimit ?? '(default 1)'}: 2 reads past Cloudflare's edge to the client, and no further`);
    }
  }
  return out;
}
