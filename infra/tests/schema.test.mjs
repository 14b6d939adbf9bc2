// Every resource, data source, provider block and module call under infra/terraform is checked
// against the real schemas of the pinned providers (node --test). The bad fixture proves each kind
// of defect is reported.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { paths } from './lib/repo.mjs';
import { providerSchema, providers } from './lib/schema.mjs';
import { checkDir, terraformDirs } from './lib/terraform.mjs';

const show = (list) => list.map((v) => `${v.file}: ${v.subject}: ${v.message}`).join('\n');

describe('provider schemas', () => {
  for (const [name, pin] of Object.entries(providers)) {
    test(`${pin.package}@${pin.packageVersion} was generated from ${pin.source} ${pin.providerVersion}`, () => {
      const schema = providerSchema(name);
      assert.equal(schema.provider.name, `registry.terraform.io/${pin.source}`);
      assert.equal(schema.provider.version, pin.providerVersion);
      assert.ok(Object.keys(schema.resources).length > 100, 'the extract found the resources');
    });
  }

  test('the extract knows required arguments and nested blocks', () => {
    const aws = providerSchema('aws');
    assert.equal(aws.resources.aws_subnet.attributes.vpc_id.required, true);
    assert.equal(aws.resources.aws_instance.blocks.metadata_options.nesting, 'list');
    assert.ok(aws.resources.aws_instance.blocks.metadata_options.attributes.http_tokens);
    const cloudflare = providerSchema('cloudflare');
    assert.equal(cloudflare.resources.cloudflare_dns_record.attributes.ttl.required, true);
    assert.equal(cloudflare.resources.cloudflare_record, undefined, 'renamed to cloudflare_dns_record in 5.x');
    assert.ok(aws.resources.aws_eip.readable.includes('public_ip'), 'computed attributes are known');
  });
});

describe('every configuration matches the provider schemas', () => {
  for (const dir of terraformDirs(paths.terraform)) {
    test(relative(paths.root, dir), async () => {
      const violations = await checkDir(dir);
      assert.equal(violations.length, 0, show(violations));
    });
  }
});

describe('the schema check reports each defect of the bad fixture', async () => {
  const violations = await checkDir(join(paths.fixtures, 'bad-schema'));
  const expected = Object.entries({
    'resource cloudflare_record': 'has no resource "cloudflare_record"',
    'resource.cloudflare_dns_record.block_syntax_for_nested_attribute': '"settings" is a nested attribute',
    'resource.cloudflare_dns_record.missing_ttl': 'missing required argument "ttl"',
    'resource.aws_instance.unknown_argument': 'unknown argument "user_data_b64"',
    'resource.aws_instance.attribute_syntax_for_block': '"root_block_device" is a block',
    'resource.aws_instance.unknown_nested_argument.metadata_options': 'unknown argument "imdsv2_only"',
    'resource.aws_subnet.missing_required': 'missing required argument "vpc_id"',
    'resource.aws_s3_bucket_versioning.missing_required_block': 'missing required block "versioning_configuration"',
    'data.aws_ami.unknown_data_argument': 'unknown argument "owner"',
    'provider.aws': 'unknown argument "regoin"',
    'module.unknown_variable': 'has no variable "origin_ip"',
    'resource.cloudflare_ruleset.list_attribute_as_blocks': '"rules" is a nested attribute',
    'aws_instance.unknown_argument.public_ipv4': 'aws_instance has no attribute "public_ipv4"',
  }).concat([['module.unknown_variable', 'required variable "origin_ipv4"']]);
  const matches = (v, [subject, message]) => v.subject === subject && v.message.includes(message);
  for (const pair of expected) {
    const [subject, message] = pair;
    test(`${subject}: ${message}`, () => {
      assert.ok(violations.some((v) => matches(v, pair)), show(violations));
    });
  }
  test('nothing else is reported (each finding belongs to a defect above)', () => {
    const unexpected = violations.filter((v) => !expected.some((pair) => matches(v, pair)));
    assert.equal(unexpected.length, 0, show(unexpected));
  });
});
