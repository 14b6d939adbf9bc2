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
  cadvisor: 'reads root-owned cgroup files, /var/lib/docker and the Docker socket; no capabilities',
};
export const CAP_ADD_ALLOWED = { 'volume-init': ['CHOWN'] };
export const DOCKER_SOCKET_ALLOWED = { cadvisor: 'container names and labels for its metrics, read-only' };
export const EDGE_SERVICE = 'traefik';

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
    }
    for (const volume of svc.volumes ?? []) {
      const v = parseVolume(volume);
      if (/docker\.sock$/.test(v.source ?? '')) {
        if (!(name in DOCKER_SOCKET_ALLOWED)) out.push(violation('docker-socket', name, 'mounts the Docker socket'));
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
    if (def.basicAuth || def.digestAuth || def.forwardAuth) return 'auth';
    return 'other';
  };
  for (const [name, router] of Object.entries(config.http?.routers ?? {})) {
    const kinds = (router.middlewares ?? []).map(kindOf);
    const auth = kinds.indexOf('auth');
    if (auth < 0) continue;
    if (!kinds.slice(0, auth).includes('limit')) out.push(violation('middleware-order', name, 'authentication runs before the rate limit: password guessing is not throttled'));
    if (!kinds.slice(0, auth).includes('headers')) out.push(violation('middleware-order', name, 'authentication runs before the security headers: 401 responses lack them'));
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
