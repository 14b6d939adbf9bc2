// Terraform configurations parsed offline (@cdktf/hcl2json) and checked against the providers' real
// schemas (lib/schema.mjs): unknown resource types (e.g. Cloudflare 4.x names), unknown or missing
// arguments, wrong nesting, and module calls that do not match the called module's variables.
import { parse } from '@cdktf/hcl2json';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { paths } from './repo.mjs';
import { providerSchema, providers } from './schema.mjs';

/** Every directory below `root` holding .tf files (a root or a module), skipping .terraform. */
export function terraformDirs(root) {
  const found = [];
  const walk = (dir) => {
    const entries = readdirSync(dir);
    if (entries.some((e) => e.endsWith('.tf'))) found.push(dir);
    for (const e of entries) {
      if (e.startsWith('.')) continue;
      if (statSync(join(dir, e)).isDirectory()) walk(join(dir, e));
    }
  };
  walk(root);
  return found;
}

/** Parses every .tf file of one directory: [{ file, text, json }]. */
export async function loadDir(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  return Promise.all(files.map(async (f) => {
    const file = join(dir, f);
    const text = readFileSync(file, 'utf8');
    return { file, text, json: await parse(file, text) };
  }));
}

const META = new Set(['count', 'for_each', 'provider', 'depends_on', 'lifecycle', 'dynamic', 'connection', 'provisioner']);
const MODULE_META = new Set(['source', 'version', 'count', 'for_each', 'providers', 'depends_on']);
const isExpression = (v) => typeof v === 'string' && v.includes('${');
const where = (file) => relative(paths.root, file);

/** Schema violations of one parsed directory: [{ file, subject, message }]. */
export async function checkDir(dir) {
  const violations = [];
  const add = (file, subject, message) => violations.push({ file: where(file), subject, message });
  for (const { file, text, json } of await loadDir(dir)) {
    checkReferences(text, (s, m) => add(file, s, m));
    checkNestedAttributeSyntax(text, (s, m) => add(file, s, m));
    for (const [kind, section] of [['resource', json.resource], ['data', json.data]]) {
      for (const [type, byName] of Object.entries(section ?? {})) {
        const provider = type.split('_')[0];
        if (!providers[provider]) {
          add(file, `${kind} ${type}`, `provider "${provider}" has no pinned schema in infra/tests/providers.json`);
          continue;
        }
        const schema = providerSchema(provider);
        const node = kind === 'resource' ? schema.resources[type] : schema.dataSources[type];
        if (!node) {
          add(file, `${kind} ${type}`, `${schema.provider.name} ${schema.provider.version} has no ${kind === 'data' ? 'data source' : 'resource'} "${type}"`);
          continue;
        }
        for (const [name, bodies] of Object.entries(byName)) {
          for (const body of bodies) {
            checkBody(body, node, providers[provider].nestedSyntax, `${kind}.${type}.${name}`, (s, m) => add(file, s, m), true);
          }
        }
      }
    }
    for (const [name, bodies] of Object.entries(json.provider ?? {})) {
      if (!providers[name]) { add(file, `provider ${name}`, 'no pinned schema'); continue; }
      for (const body of bodies) {
        checkBody(body, providerSchema(name).config, providers[name].nestedSyntax, `provider.${name}`, (s, m) => add(file, s, m), false);
      }
    }
    for (const [name, calls] of Object.entries(json.module ?? {})) {
      for (const call of calls) {
        if (!call.source?.startsWith('.')) { add(file, `module.${name}`, `source "${call.source}" is not a local module`); continue; }
        const target = resolve(dir, call.source);
        const variables = {};
        for (const { json: m } of await loadDir(target)) {
          for (const [v, [decl]] of Object.entries(m.variable ?? {})) variables[v] = decl;
        }
        for (const arg of Object.keys(call)) {
          if (!MODULE_META.has(arg) && !variables[arg]) add(file, `module.${name}`, `${where(target)} has no variable "${arg}"`);
        }
        for (const [v, decl] of Object.entries(variables)) {
          if (!('default' in decl) && !(v in call)) add(file, `module.${name}`, `required variable "${v}" of ${where(target)} is not set`);
        }
      }
    }
  }
  return violations;
}

const withoutComments = (text) => text.replace(/^\s*(#|\/\/).*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');

// Every `type.name.attribute` and `data.type.name.attribute` read in an expression must be an
// argument or computed attribute of that type (e.g. aws_eip.x.public_ip, not .ip_address).
function checkReferences(text, add) {
  const ref = /(?<![\w.])(data\.)?([a-z][a-z0-9]*)_([a-z0-9_]+)\.([a-z0-9_]+)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)/g;
  for (const [whole, data, provider, rest, , attribute] of withoutComments(text).matchAll(ref)) {
    if (!providers[provider]) continue;
    const type = `${provider}_${rest}`;
    const schema = providerSchema(provider);
    const node = data ? schema.dataSources[type] : schema.resources[type];
    if (!node) continue; // reported as an unknown type where it is declared
    if (!node.readable.includes(attribute)) add(whole, `${type} has no attribute "${attribute}"`);
  }
}

// hcl2json cannot tell `rules = [{ ... }]` from repeated `rules { ... }` blocks: for providers
// whose nested arguments are attributes (Cloudflare 5.x), find block syntax in the text itself.
function checkNestedAttributeSyntax(text, add) {
  const clean = withoutComments(text);
  const header = /^(resource|data) "([a-z0-9_]+)" "([\w-]+)" \{$/gm;
  for (const match of clean.matchAll(header)) {
    const [, kind, type, name] = match;
    const provider = type.split('_')[0];
    if (providers[provider]?.nestedSyntax !== 'attribute') continue;
    const schema = providerSchema(provider);
    const node = kind === 'data' ? schema.dataSources[type] : schema.resources[type];
    if (!node) continue;
    const end = clean.indexOf('\n}', match.index);
    const body = clean.slice(match.index + match[0].length, end);
    const nestedNames = new Set();
    const collect = (n) => { for (const [k, v] of Object.entries(n.blocks)) { nestedNames.add(k); collect(v); } };
    collect(node);
    for (const [, block] of body.matchAll(/^\s*([a-z_][a-z0-9_]*)\s*\{/gm)) {
      if (nestedNames.has(block)) add(`${kind === 'data' ? 'data.' : 'resource.'}${type}.${name}`, `"${block}" is a nested attribute: write ${block} = { ... } (or = [{ ... }]), not a block`);
    }
  }
}

// One block body against one schema node; `syntax` says how the provider's nested arguments are
// written: "block" (name { ... }) or "attribute" (name = { ... }, the Cloudflare 5.x style).
function checkBody(body, node, syntax, subject, add, allowMeta) {
  const present = new Set(Object.keys(body));
  for (const [key, value] of Object.entries(body)) {
    if (key === 'dynamic') {
      for (const [blockName, [dyn]] of Object.entries(value)) {
        const nested = node.blocks[blockName];
        present.add(blockName);
        if (!nested) { add(subject, `dynamic "${blockName}": no such nested block`); continue; }
        if (syntax !== 'block') add(subject, `dynamic "${blockName}": ${blockName} is a nested attribute here; build it with a for expression`);
        for (const content of dyn.content ?? []) checkBody(content, nested, syntax, `${subject}.${blockName}`, add, false);
      }
      continue;
    }
    if (allowMeta && META.has(key)) continue;
    if (node.attributes[key]) continue;
    const nested = node.blocks[key];
    if (!nested) { add(subject, `unknown argument "${key}"`); continue; }
    if (isExpression(value)) continue;
    const isBlockSyntax = Array.isArray(value) && value.every((v) => v && typeof v === 'object' && !Array.isArray(v));
    if (syntax === 'block' && !Array.isArray(value)) {
      add(subject, `"${key}" is a block: write ${key} { ... }, not ${key} = { ... }`);
      continue;
    }
    if (syntax === 'attribute' && nested.nesting === 'single' && Array.isArray(value)) {
      add(subject, `"${key}" is a nested attribute: write ${key} = { ... }, not a block`);
      continue;
    }
    const elements = Array.isArray(value) ? value : [value];
    if (syntax === 'block' && nested.nesting === 'single' && elements.length > 1) add(subject, `"${key}" may appear once`);
    if (!isBlockSyntax && Array.isArray(value) && syntax === 'block') continue;
    for (const element of elements) {
      if (element && typeof element === 'object' && !isExpression(element)) checkBody(element, nested, syntax, `${subject}.${key}`, add, false);
    }
  }
  for (const [name, attr] of Object.entries(node.attributes)) {
    if (attr.required && !present.has(name)) add(subject, `missing required argument "${name}"`);
  }
  for (const [name, nested] of Object.entries(node.blocks)) {
    if (nested.required && !present.has(name)) add(subject, `missing required block "${name}"`);
  }
}
