// The real argument schema of each pinned Terraform provider, read offline from the @cdktf/provider-*
// package generated from that provider's schema (no provider binary can be downloaded here).
// Each resource's lib/<name>/index.js lists every argument in synthesizeHclAttributes() (snake_case
// name, block or not, type); nested blocks are in the <struct>ToHclTerraform functions; an argument is
// required when index.d.ts declares it without `?`. The extract is cached as JSON per package version.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { paths } from './repo.mjs';

export const providers = JSON.parse(readFileSync(paths.providers, 'utf8'));
delete providers['//'];

const cacheDir = process.env.INFRA_SCHEMA_CACHE
  ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'shortener-terraform-schemas');

/** The schema of one provider ({ provider, config, resources, dataSources }), extracted once per version. */
// Bump when extract() changes what it records, so stale caches are rebuilt.
const EXTRACT_FORMAT = 2;
const loaded = new Map();

export function providerSchema(name) {
  if (!loaded.has(name)) loaded.set(name, loadSchema(name));
  return loaded.get(name);
}

function loadSchema(name) {
  const pin = providers[name];
  if (!pin) throw new Error(`no schema source for provider "${name}" in infra/tests/providers.json`);
  const cached = join(cacheDir, `${pin.package.replace('/', '+')}@${pin.packageVersion}.v${EXTRACT_FORMAT}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));

  const work = mkdtempSync(join(tmpdir(), 'tf-schema-'));
  try {
    // npm pack fetches the exact tarball (through npm's own cache); the integrity pin makes a
    // different tarball fail instead of silently changing the schema the tests trust.
    const [packed] = JSON.parse(execFileSync('npm', ['pack', `${pin.package}@${pin.packageVersion}`,
      '--json', '--pack-destination', work, '--loglevel=error'], { encoding: 'utf8' }));
    const tarball = join(work, packed.filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== pin.integrity) {
      throw new Error(`${pin.package}@${pin.packageVersion}: integrity ${integrity} is not the pinned ${pin.integrity}`);
    }
    execFileSync('tar', ['-xzf', tarball, '-C', work, '--wildcards', 'package/package.json',
      'package/lib/*.js', 'package/lib/*.d.ts']);
    const schema = extract(join(work, 'package'));
    if (schema.provider.version !== pin.providerVersion) {
      throw new Error(`${pin.package}@${pin.packageVersion} was generated from ${schema.provider.name} ${schema.provider.version}, not ${pin.providerVersion}`);
    }
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${cached}.tmp`, JSON.stringify(schema));
    renameSync(`${cached}.tmp`, cached);
    return schema;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Reads every resource, data source and the provider block from an unpacked package. */
export function extract(packageDir) {
  const meta = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).cdktf.provider;
  const schema = { provider: { name: meta.name, version: meta.version }, config: null, resources: {}, dataSources: {} };
  for (const dir of readdirSync(join(packageDir, 'lib'))) {
    const js = join(packageDir, 'lib', dir, 'index.js');
    if (!existsSync(js)) continue;
    // Large resources keep their nested structs in index-structs/*.js beside index.js.
    const source = withStructs(join(packageDir, 'lib', dir), 'index.js', '.js');
    const found = /\n(\w+)\.tfResourceType = "(\w+)";/.exec(source);
    if (!found) continue;
    const [, className, type] = found;
    const dts = withStructs(join(packageDir, 'lib', dir), 'index.d.ts', '.d.ts');
    const node = readNode(source, dts, source.indexOf('synthesizeHclAttributes() {'), `${className}Config`);
    node.readable = readableAttributes(source, className, node);
    if (dir === 'provider') schema.config = node;
    else if (dir.startsWith('data-')) schema.dataSources[type] = node;
    else schema.resources[type] = node;
  }
  return schema;
}

// Every attribute an expression may read (arguments and computed attributes): the getters of the
// resource class itself, not of its nested structs.
function readableAttributes(source, className, node) {
  const start = source.indexOf(`class ${className} extends`);
  const body = source.slice(start, source.indexOf(`${className}.tfResourceType`, start));
  const names = new Set([...Object.keys(node.attributes), ...Object.keys(node.blocks)]);
  for (const [, name] of body.matchAll(/this\.(?:get\w*Attribute|interpolationForAttribute)\('(\w+)'\)/g)) names.add(name);
  for (const [, name] of body.matchAll(/new \w+\(this, "(\w+)"/g)) names.add(name);
  return [...names].sort();
}

function withStructs(dir, main, extension) {
  const structs = join(dir, 'index-structs');
  const extra = existsSync(structs)
    ? readdirSync(structs).filter((f) => f.endsWith(extension) && (extension === '.d.ts' || !f.endsWith('.d.ts')))
      .map((f) => readFileSync(join(structs, f), 'utf8'))
    : [];
  return [readFileSync(join(dir, main), 'utf8'), ...extra].join('\n');
}

const attrEntry = /\n\s+(\w+): \{\n\s+value: (.*),\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n\s+storageClassType: "(\w+)",\n\s+\}/g;

// One level of arguments: the attrs object starting at `from`, required-ness from the d.ts interface.
function readNode(source, dts, from, interfaceName, depth = 0) {
  if (depth > 12) throw new Error(`nesting too deep at ${interfaceName}`);
  const start = source.indexOf('const attrs = {', from);
  // `const attrs = {};` (no configurable argument) ends at its own `;`, otherwise at the filter.
  const end = source.startsWith('const attrs = {};', start) ? start : source.indexOf('// remove undefined attributes', start);
  const body = source.slice(start, end);
  const required = requiredProperties(dts, interfaceName);
  const node = { attributes: {}, blocks: {} };
  for (const [, name, value, isBlock, type] of body.matchAll(attrEntry)) {
    const property = /(?:this\._|struct\.)(\w+)/.exec(value)?.[1];
    const isRequired = property !== undefined && required.has(property);
    if (isBlock === 'false') {
      node.attributes[name] = { type, required: isRequired };
      continue;
    }
    const converter = /\b([a-z]\w*ToHclTerraform)\b/.exec(value.replace(/cdktf\.\w+/g, ''))?.[1];
    const structName = converter.replace(/ToHclTerraform$/, '');
    const at = source.indexOf(`function ${converter}(struct) {`);
    if (!converter || at < 0) throw new Error(`cannot follow nested block ${name} (${value})`);
    const nested = readNode(source, dts, at,
      structName[0].toUpperCase() + structName.slice(1), depth + 1);
    node.blocks[name] = { nesting: type === 'struct' ? 'single' : type, required: isRequired, ...nested };
  }
  return node;
}

function requiredProperties(dts, interfaceName) {
  const match = new RegExp(`export interface ${interfaceName} (?:extends [^{]+)?\\{([\\s\\S]*?)\\n\\}`).exec(dts);
  const required = new Set();
  if (!match) return required;
  for (const [, name, optional] of match[1].matchAll(/readonly (\w+)(\??):/g)) {
    if (!optional) required.add(name);
  }
  return required;
}
