// The Redis ACL (deploy/compose/redis/users.acl) against the code: every command the API and the
// worker issue through StackExchange.Redis, and every command their Lua scripts call, is allowed to
// that service's user, and the application users hold no @dangerous command. A bad ACL fixture
// proves each check can fail. The real-server side (FLUSHALL/CONFIG refused, the calls accepted)
// is apps/tests/Shortener.Tests/Security/LeastPrivilegeTests.cs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './lib/repo.mjs';

// StackExchange.Redis 3.x method -> the Redis commands it sends (RedisDatabase.cs / RedisSubscriber.cs).
// A Redis method the scan finds that is not here fails the test: add it with its commands.
const METHOD_COMMANDS = {
  // SETEX/PSETEX when given an expiry, UNLINK for KeyDelete on Redis 4+ (both found by LeastPrivilegeTests).
  StringGet: ['get'], StringSet: ['set', 'setex', 'psetex'], KeyDelete: ['del', 'unlink'], KeyExists: ['exists'], Ping: ['ping'],
  Publish: ['publish'], Subscribe: ['subscribe'], Unsubscribe: ['unsubscribe'],
  // EVALSHA first when the script's SHA is cached, EVAL on NOSCRIPT (ScriptEvalMessage).
  ScriptEvaluate: ['evalsha', 'eval'],
  StreamAdd: ['xadd'], StreamAcknowledge: ['xack'], StreamAutoClaim: ['xautoclaim'],
  StreamCreateConsumerGroup: ['xgroup|create'], StreamGroupInfo: ['xinfo|groups'], StreamLength: ['xlen'],
  StreamPending: ['xpending'], StreamPendingMessages: ['xpending'], StreamRange: ['xrange'],
  StreamReadGroup: ['xreadgroup'], StreamTrimByMinId: ['xtrim'], StreamTrim: ['xtrim'],
  StreamInfo: ['xinfo|stream'], StreamConsumerInfo: ['xinfo|consumers'], StreamDeleteConsumer: ['xgroup|delconsumer'],
  // ITransaction.Execute(Async): MULTI ... EXEC; IBatch.Execute sends nothing of its own.
  CreateTransaction: ['multi', 'exec'], CreateBatch: [],
};
// Method names that belong to the StackExchange.Redis surface (IDatabase/ISubscriber prefixes).
const REDIS_METHOD = /^(String|Key|Hash|Stream|List|SortedSet|Script|HyperLogLog|Geo|Lock|Publish|Subscribe|Unsubscribe|Ping|CreateTransaction|CreateBatch)/;
// Commands StackExchange.Redis sends on connect (AUTH/HELLO, CLIENT SETNAME/SETINFO, ECHO/PING
// heartbeats, SUBSCRIBE to its configuration channel) are covered by +@connection.
const CONNECTION = new Set(['auth', 'hello', 'ping', 'echo', 'select', 'reset', 'client|setname', 'client|setinfo', 'client|id', 'client|getname']);
// Redis 7 commands in @dangerous that an application could plausibly be given by mistake.
const DANGEROUS = new Set(['flushall', 'flushdb', 'keys', 'config', 'config|get', 'config|set', 'debug', 'shutdown', 'monitor',
  'sort', 'migrate', 'restore', 'save', 'bgsave', 'bgrewriteaof', 'replicaof', 'slaveof', 'swapdb', 'info', 'client|kill',
  'client|list', 'acl', 'cluster', 'failover', 'latency', 'slowlog', 'module', 'script|flush', 'script|kill', 'function|flush']);

const SERVICES = {
  'shortener-api': ['Shortener.Api', 'Shortener.ServiceDefaults', 'Shortener.Contracts'],
  'shortener-worker': ['Shortener.Worker', 'Shortener.ServiceDefaults', 'Shortener.Contracts'],
};
// Keys and channels each service touches, as written in the source (checked to still be there).
const NAMES = {
  'shortener-api': { keys: ['link:abc', 'clicks', 'faults:active'], channels: ['links:invalidated'] },
  'shortener-worker': { keys: ['clicks', 'clicks:dead'], channels: [] },
};
const SOURCE_NAMES = ['"link:"', '"clicks"', '"clicks:dead"', '"faults:active"', '"links:invalidated"'];

function csFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return ['bin', 'obj'].includes(entry) ? [] : csFiles(path);
    return entry.endsWith('.cs') ? [path] : [];
  });
}

/** Commands a project's sources issue: SE.Redis calls, Lua redis.call(...) and unknown Redis methods. */
export function commandsIssued(projects) {
  const commands = new Set(['subscribe']); // the configuration channel, on every connection
  const unknown = new Set();
  for (const file of projects.flatMap((p) => csFiles(join(paths.root, 'apps/src', p)))) {
    const text = readFileSync(file, 'utf8');
    if (!/StackExchange\.Redis|IConnectionMultiplexer|IDatabase/.test(text)) continue;
    for (const [, name] of text.matchAll(/\.([A-Z]\w+?)(?:Async)?\(/g)) {
      if (!REDIS_METHOD.test(name)) continue;
      if (name in METHOD_COMMANDS) METHOD_COMMANDS[name].forEach((c) => commands.add(c));
      else unknown.add(name);
    }
    for (const [, command] of text.matchAll(/redis\.(?:p?call)\(\s*'(\w+)'/g)) commands.add(command.toLowerCase());
    // Raw commands: database.Execute(Async)("XGROUP", "SETID", ...) is the container command's subcommand.
    for (const [, command, sub] of text.matchAll(/\.Execute(?:Async)?\(\s*"(\w+)"(?:\s*,\s*"(\w+)")?/g)) {
      commands.add(sub && ['xgroup', 'xinfo', 'client', 'config', 'script', 'object', 'memory'].includes(command.toLowerCase())
        ? `${command.toLowerCase()}|${sub.toLowerCase()}` : command.toLowerCase());
    }
  }
  return { commands, unknown };
}

/** Parses ACL lines into { user: { on, commands (allowed set), categories, keys, channels } }. */
export function parseAcl(text) {
  const users = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [keyword, name, ...rules] = line.split(/\s+/);
    assert.equal(keyword, 'user', `ACL lines start with "user" (Redis reads no comments): ${line}`);
    const user = { on: false, allowed: new Set(), categories: [], keys: [], channels: [] };
    for (const rule of rules) {
      if (rule === 'on') user.on = true;
      else if (rule === 'allkeys') user.keys.push('*');
      else if (rule.startsWith('~')) user.keys.push(rule.slice(1));
      else if (rule.startsWith('&')) user.channels.push(rule.slice(1));
      else if (rule === 'allchannels') user.channels.push('*');
      else if (rule === '-@all' || rule === 'nocommands') { user.allowed.clear(); user.categories = []; }
      else if (rule === '+@all' || rule === 'allcommands') user.categories.push('+all');
      else if (/^[+-]@/.test(rule)) user.categories.push(rule[0] + rule.slice(2));
      else if (rule.startsWith('+')) user.allowed.add(rule.slice(1).toLowerCase());
      else if (rule.startsWith('-')) user.allowed.delete(rule.slice(1).toLowerCase());
    }
    users[name] = user;
  }
  return users;
}

const glob = (pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** Violations of the ACL for the given services' needs. */
export function checkAcl(users, needs) {
  const out = [];
  for (const [name, need] of Object.entries(needs)) {
    const user = users[name];
    if (!user) { out.push(`${name}: no ACL user`); continue; }
    const connection = user.categories.includes('+connection');
    const allows = (command) => user.categories.includes('+all') || user.allowed.has(command)
      || user.allowed.has(command.split('|')[0]) || (connection && CONNECTION.has(command));
    for (const command of need.commands) if (!allows(command)) out.push(`${name}: ${command} is not allowed`);
    for (const method of need.unknown ?? []) out.push(`${name}: unknown StackExchange.Redis method ${method} (add it to METHOD_COMMANDS)`);
    for (const key of need.keys) if (!user.keys.some((p) => glob(p).test(key))) out.push(`${name}: key ${key} matches no ~pattern`);
    for (const channel of need.channels) if (!user.channels.some((p) => glob(p).test(channel))) out.push(`${name}: channel ${channel} matches no &pattern`);
    if (user.categories.includes('+all') || user.categories.includes('+dangerous')) out.push(`${name}: holds @dangerous`);
    if (!user.categories.includes('-dangerous')) out.push(`${name}: does not remove @dangerous`);
    for (const command of user.allowed) if (DANGEROUS.has(command)) out.push(`${name}: ${command} is @dangerous`);
  }
  if (users.default?.on) out.push('default: the default user is on (anyone with the old shared password gets everything)');
  return out;
}

const acl = readFileSync(join(paths.composeDir, 'redis/users.acl'), 'utf8');
const needs = Object.fromEntries(Object.entries(SERVICES).map(([user, projects]) => {
  const { commands, unknown } = commandsIssued(projects);
  return [user, { commands, unknown, ...NAMES[user] }];
}));

describe('Redis ACL users cover what the code issues, and no more', () => {
  test('the scan finds the calls main added: EVAL/EVALSHA, PUBLISH/SUBSCRIBE, the Lua GET/SET, XREADGROUP', () => {
    for (const c of ['evalsha', 'eval', 'publish', 'subscribe', 'get', 'set', 'xadd']) assert.ok(needs['shortener-api'].commands.has(c), c);
    for (const c of ['xreadgroup', 'xack', 'xautoclaim', 'xtrim', 'multi', 'exec']) assert.ok(needs['shortener-worker'].commands.has(c), c);
  });

  test('the keys and channels listed here are still the ones in the source', () => {
    const source = ['Shortener.Api', 'Shortener.Worker', 'Shortener.Contracts']
      .flatMap((p) => csFiles(join(paths.root, 'apps/src', p))).map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const name of SOURCE_NAMES) assert.ok(source.includes(name), `${name} no longer in apps/src: update NAMES`);
  });

  test('deploy/compose/redis/users.acl allows every command, key and channel, and no @dangerous', () => {
    assert.deepEqual(checkAcl(parseAcl(acl), needs), []);
  });

  test('the exporter user is read-only', () => {
    const exporter = parseAcl(acl)['shortener-exporter'];
    for (const write of ['set', 'del', 'xadd', 'flushall', 'publish']) assert.ok(!exporter.allowed.has(write), write);
  });

  test('a bad ACL is reported: missing EVALSHA/PUBLISH, a missing key pattern, @dangerous, default on', () => {
    const bad = acl
      .replace('user default off', 'user default on nopass ~* +@all')
      .replace(' +evalsha', '').replace(' +publish', '').replace(' ~faults:active', '')
      .replace(/(user shortener-worker .*?)-@dangerous/, '$1+flushall');
    const found = checkAcl(parseAcl(bad), { ...needs, 'shortener-api': { ...needs['shortener-api'], unknown: new Set(['HashIncrement']) } });
    for (const expected of [/api: evalsha is not allowed/, /api: publish is not allowed/, /api: key faults:active/,
      /worker: flushall is @dangerous/, /worker: does not remove @dangerous/, /^default:/, /unknown StackExchange.Redis method HashIncrement/]) {
      assert.ok(found.some((v) => expected.test(v)), `${expected} not reported; got:\n${found.join('\n')}`);
    }
  });
});
