// Traefik helpers for the policy tests: renders the Go templates of the file provider (the subset
// the dynamic files use) and evaluates v3 router rules, so "is /metrics reachable from outside?"
// is answered by the rules themselves rather than by grepping them.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseYaml } from './compose.mjs';

// ---- Go template subset: {{ env "X" }}, {{ range $i := until (atoi (env "X")) }}, {{ add1 $i }}, splitList, quote,
// {{ if not (env "X") }} ... {{ end }} ----

function tokenize(template) {
  const tokens = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  for (const m of template.matchAll(re)) {
    tokens.push({ type: 'text', value: template.slice(last, m.index) });
    tokens.push({ type: 'action', expr: m[2], trimLeft: m[1] === '-', trimRight: m[3] === '-' });
    last = m.index + m[0].length;
  }
  tokens.push({ type: 'text', value: template.slice(last) });
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type !== 'action') continue;
    if (t.trimLeft && tokens[i - 1]) tokens[i - 1].value = tokens[i - 1].value.replace(/\s+$/, '');
    if (t.trimRight && tokens[i + 1]) tokens[i + 1].value = tokens[i + 1].value.replace(/^\s+/, '');
  }
  return tokens;
}

function parseExpression(src) {
  const tokens = src.match(/"(?:[^"\\]|\\.)*"|\(|\)|[^\s()]+/g) ?? [];
  let pos = 0;
  const term = () => {
    const t = tokens[pos++];
    if (t === '(') { const e = call(); pos++; return e; }
    if (t.startsWith('"')) return { lit: JSON.parse(t) };
    if (/^-?\d+$/.test(t)) return { lit: Number(t) };
    if (t.startsWith('$')) return { variable: t };
    return { fn: t, args: [] };
  };
  const call = () => {
    const head = term();
    if (!head.fn) return head;
    while (pos < tokens.length && tokens[pos] !== ')') head.args.push(term());
    return head;
  };
  return call();
}

const functions = {
  env: (vars, name) => vars.env[name] ?? '',
  atoi: (_, s) => Number.parseInt(s, 10) || 0,
  until: (_, n) => Array.from({ length: n }, (_, i) => i),
  add1: (_, n) => Number(n) + 1,
  not: (_, v) => !v,
  // sprig: splitList is Go's strings.Split ("" gives [""]); quote is %q.
  splitList: (_, separator, text) => String(text).split(separator),
  quote: (_, v) => JSON.stringify(String(v)),
};

function evaluate(node, vars) {
  if ('lit' in node) return node.lit;
  if (node.variable) {
    if (!(node.variable in vars.locals)) throw new Error(`undefined variable ${node.variable}`);
    return vars.locals[node.variable];
  }
  const fn = functions[node.fn];
  if (!fn) throw new Error(`template function not supported by the test renderer: ${node.fn}`);
  return fn(vars, ...node.args.map((a) => evaluate(a, vars)));
}

/** Renders the template subset with `env` as the process environment. */
export function renderTemplate(template, env) {
  const tokens = tokenize(template);
  let pos = 0;
  const block = (vars) => {
    let out = '';
    while (pos < tokens.length) {
      const t = tokens[pos++];
      if (t.type === 'text') { out += t.value; continue; }
      if (t.expr === 'end') return out;
      const cond = /^if\s+([\s\S]+)$/.exec(t.expr);
      if (cond) {
        const body = block(vars); // up to the matching end
        if (evaluate(parseExpression(cond[1]), vars)) out += body;
        continue;
      }
      const range = /^range\s+(\$\w+)\s*:=\s*([\s\S]+)$/.exec(t.expr);
      if (range) {
        const items = evaluate(parseExpression(range[2]), vars);
        const start = pos;
        let body = '';
        if (items.length === 0) { block(vars); } // skip to the matching end
        for (const item of items) {
          pos = start;
          body += block({ ...vars, locals: { ...vars.locals, [range[1]]: item } });
        }
        out += body;
        continue;
      }
      out += String(evaluate(parseExpression(t.expr), vars));
    }
    return out;
  };
  return block({ env, locals: {} });
}

/** Every *.yml of a dynamic directory, rendered and merged like the file provider does. */
export function loadDynamicDirectory(dir, env) {
  const merged = { http: { routers: {}, middlewares: {}, services: {} }, tls: { options: {}, stores: {}, certificates: [] } };
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const file of files) {
    const doc = parseYaml(renderTemplate(readFileSync(join(dir, file), 'utf8'), env)) ?? {};
    for (const section of ['routers', 'middlewares', 'services']) {
      for (const [name, value] of Object.entries(doc.http?.[section] ?? {})) {
        merged.http[section][name] = { ...value, file };
      }
    }
    Object.assign(merged.tls.options, doc.tls?.options ?? {});
    Object.assign(merged.tls.stores, doc.tls?.stores ?? {});
    merged.tls.certificates.push(...(doc.tls?.certificates ?? []));
  }
  return { config: merged, files };
}

// ---- router rules (v3 syntax) ---------------------------------------------------------------

function lexRule(rule) {
  const tokens = [];
  const re = /\s*(&&|\|\||!|\(|\)|,|`[^`]*`|"(?:[^"\\]|\\.)*"|[A-Za-z]+)/y;
  let m;
  while (re.lastIndex < rule.length && (m = re.exec(rule))) tokens.push(m[1]);
  if (re.lastIndex < rule.trimEnd().length) throw new Error(`cannot parse rule near: ${rule.slice(re.lastIndex)}`);
  return tokens;
}

/** Parses a rule into a tree: {op:'and'|'or'|'not', ...} or {matcher, args}. */
export function parseRule(rule) {
  const tokens = lexRule(rule);
  let pos = 0;
  const peek = () => tokens[pos];
  const primary = () => {
    const t = tokens[pos++];
    if (t === '!') return { op: 'not', arg: primary() };
    if (t === '(') { const e = or(); pos++; return e; }
    if (/^[A-Za-z]+$/.test(t)) {
      const args = [];
      pos++; // (
      while (peek() !== ')') {
        const a = tokens[pos++];
        if (a === ',') continue;
        args.push(a.startsWith('`') ? a.slice(1, -1) : JSON.parse(a));
      }
      pos++; // )
      return { matcher: t, args };
    }
    throw new Error(`unexpected token ${t} in rule ${rule}`);
  };
  const and = () => {
    let left = primary();
    while (peek() === '&&') { pos++; left = { op: 'and', left, right: primary() }; }
    return left;
  };
  const or = () => {
    let left = and();
    while (peek() === '||') { pos++; left = { op: 'or', left, right: and() }; }
    return left;
  };
  return or();
}

// Go's (?i) / (?i:...) flags become a case-insensitive JS RegExp (a slight over-approximation).
function goRegExp(pattern) {
  const insensitive = /\(\?i\)|\(\?i:/.test(pattern);
  return new RegExp(pattern.replace(/\(\?i\)/g, '').replace(/\(\?i:/g, '(?:'), insensitive ? 'i' : '');
}

const TRUE = 1, FALSE = 0, UNKNOWN = 0.5;
const matchers = {
  Host: (req, [host]) => (req.host.toLowerCase() === host.toLowerCase() ? TRUE : FALSE),
  HostRegexp: (req, [re]) => (goRegExp(re).test(req.host) ? TRUE : FALSE),
  Path: (req, [path]) => (req.path === path ? TRUE : FALSE),
  PathPrefix: (req, [prefix]) => (req.path.startsWith(prefix) ? TRUE : FALSE),
  PathRegexp: (req, [re]) => (goRegExp(re).test(req.path) ? TRUE : FALSE),
  Method: (req, [method]) => (req.method === method.toUpperCase() ? TRUE : FALSE),
};

/** Three-valued evaluation: matchers the tests cannot decide (headers, client IP...) are UNKNOWN. */
export function evaluateRule(tree, req) {
  switch (tree.op) {
    case 'and': return Math.min(evaluateRule(tree.left, req), evaluateRule(tree.right, req));
    case 'or': return Math.max(evaluateRule(tree.left, req), evaluateRule(tree.right, req));
    case 'not': return 1 - evaluateRule(tree.arg, req);
    default: return matchers[tree.matcher] ? matchers[tree.matcher](req, tree.args) : UNKNOWN;
  }
}

/** True when the rule matches the request or might (UNKNOWN counts as reachable). */
export function mayMatch(rule, req) {
  return evaluateRule(parseRule(rule), req) !== FALSE;
}

/** Hosts named by Host() matchers of a rule. */
export function ruleHosts(rule) {
  const hosts = [];
  const walk = (n) => {
    if (n.matcher === 'Host') hosts.push(...n.args);
    for (const k of ['left', 'right', 'arg']) if (n[k]) walk(n[k]);
  };
  walk(parseRule(rule));
  return hosts;
}

export { TRUE, FALSE, UNKNOWN };
