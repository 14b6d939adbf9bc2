// Loads compose files the way `docker compose -f a.yaml -f b.yaml` sees them: .env interpolation,
// YAML merge keys (<<), then the Compose merge rules for layered files. Only what the policy tests
// need is modelled; anything unknown is merged conservatively (overlay wins).
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

/** Parses a .env file (KEY=VALUE lines, # comments, optional quotes). */
export function parseEnvFile(path) {
  const env = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

const interpolation = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Compose variable interpolation. `keepEscapes` leaves "$$" as is (for text handed to another
 * linter); otherwise "$$" becomes "$" as in the running container. Returns { text, missing }.
 */
export function interpolate(text, env, { keepEscapes = false } = {}) {
  const missing = new Set();
  const out = text.replace(interpolation, (match, name, op, arg, bare) => {
    if (match === '$$') return keepEscapes ? '$$' : '$';
    const key = name ?? bare;
    const value = env[key];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op) {
      case ':-': return nonEmpty ? value : arg;
      case '-': return set ? value : arg;
      case ':+': return nonEmpty ? arg : '';
      case '+': return set ? arg : '';
      case ':?': if (!nonEmpty) missing.add(key); return value ?? '';
      case '?': if (!set) missing.add(key); return value ?? '';
      default: if (!set) missing.add(key); return value ?? '';
    }
  });
  return { text: out, missing: [...missing] };
}

/** Names of variables a text references without a default (they must come from .env). */
export function requiredVariables(text) {
  const names = new Set();
  for (const m of text.matchAll(interpolation)) {
    const name = m[1] ?? m[4];
    if (name && (m[2] === undefined || m[2].includes('?'))) names.add(name);
  }
  return [...names];
}

export function parseYaml(text) {
  return YAML.parse(text, { merge: true, maxAliasCount: -1 });
}

/** One compose file: interpolated with `env` (plus the project name, as Compose does) and parsed. */
export function loadComposeFile(path, env) {
  const raw = readFileSync(path, 'utf8');
  const projectName = (/^name:\s*(\S+)/m.exec(raw) ?? [])[1];
  const fullEnv = { ...(projectName ? { COMPOSE_PROJECT_NAME: projectName } : {}), ...env };
  const { text, missing } = interpolate(raw, fullEnv);
  return { path, raw, doc: parseYaml(text) ?? {}, missing };
}

// ---- normalisation of the short syntaxes -------------------------------------------------

export function environmentMap(environment) {
  if (!environment) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => {
      const eq = String(entry).indexOf('=');
      return eq < 0 ? [entry, null] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }));
  }
  return { ...environment };
}

export function namedMap(value) {
  if (!value) return {};
  if (Array.isArray(value)) return Object.fromEntries(value.map((name) => [name, {}]));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v ?? {}]));
}

/** "src:dst[:mode]" or the long syntax -> { type, source, target, readOnly }. */
export function parseVolume(volume) {
  if (typeof volume === 'object') {
    return { type: volume.type ?? 'volume', source: volume.source, target: volume.target, readOnly: !!volume.read_only };
  }
  const parts = String(volume).split(':');
  if (parts.length === 1) return { type: 'volume', source: undefined, target: parts[0], readOnly: false };
  const [source, target, mode = ''] = parts;
  const type = /^[./~]/.test(source) ? 'bind' : 'volume';
  return { type, source, target, readOnly: mode.split(',').includes('ro') };
}

/** "[ip:]published:target[/proto]" or the long syntax -> { hostIp, published, target }. */
export function parsePort(port) {
  if (typeof port === 'object') {
    return { hostIp: port.host_ip ?? '', published: String(port.published ?? ''), target: String(port.target) };
  }
  const spec = String(port).replace(/\/(tcp|udp|sctp)$/, '');
  const match = /^(?:(\[[^\]]+\]|[^:]+):)??(?:([^:]*):)?([^:]+)$/.exec(spec);
  if (!match) return { hostIp: '', published: '', target: spec };
  return { hostIp: (match[1] ?? '').replace(/^\[|\]$/g, ''), published: match[2] ?? '', target: match[3] };
}

// ---- layered files -----------------------------------------------------------------------

const overrideKeys = new Set(['command', 'entrypoint', 'test', 'image', 'user']);

function mergeSequences(key, base, overlay) {
  if (overrideKeys.has(key)) return overlay;
  if (key === 'volumes') {
    const byTarget = new Map(base.map((v) => [parseVolume(v).target, v]));
    for (const v of overlay) byTarget.set(parseVolume(v).target, v);
    return [...byTarget.values()];
  }
  const seen = new Set(base.map((v) => JSON.stringify(v)));
  return [...base, ...overlay.filter((v) => !seen.has(JSON.stringify(v)))];
}

function mergeValues(key, base, overlay) {
  if (overlay === undefined) return base;
  if (base === undefined) return overlay;
  if (key === 'environment' || key === 'labels') return { ...environmentMap(base), ...environmentMap(overlay) };
  if ((key === 'depends_on' || key === 'networks') && Array.isArray(base) !== Array.isArray(overlay)) {
    return mergeMaps(namedMap(base), namedMap(overlay));
  }
  if (Array.isArray(base) && Array.isArray(overlay)) return mergeSequences(key, base, overlay);
  if (isMap(base) && isMap(overlay)) return mergeMaps(base, overlay);
  return overlay;
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function mergeMaps(base, overlay) {
  const out = { ...base };
  for (const [k, v] of Object.entries(overlay)) out[k] = mergeValues(k, base[k], v);
  return out;
}

/** Compose's merge of `-f first -f second ...` documents. */
export function mergeComposeDocs(docs) {
  return docs.reduce((acc, doc) => mergeMaps(acc, doc), {});
}

/** Loads and merges layered compose files with the given environment. */
export function loadCompose(paths, env) {
  const files = paths.map((p) => loadComposeFile(p, env));
  return { files, model: mergeComposeDocs(files.map((f) => f.doc)) };
}
