// Policy tests for the telemetry configs (Grafana datasources, Loki, Tempo, the Collector) and
// Prometheus retention: clean on the shipped files, and each rule reported on the bad fixtures.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadCompose, parseEnvFile, parseYaml } from './lib/compose.mjs';
import {
  checkBatchFitsReceiver, checkLoki, checkMetricsPath, checkRetention, checkTargetLabelClashes, checkTraceCap, checkSpanMetricQueries, checkTraceQueryWindow,
  lokiIndexedAttributes,
} from './lib/observability.mjs';
import { paths } from './lib/repo.mjs';

const read = (p) => readFileSync(p, 'utf8');
const obs = (p) => parseYaml(read(join(paths.observability, p)));
const bad = (p) => parseYaml(read(join(paths.fixtures, 'bad-observability', p)));
const env = parseEnvFile(paths.envExample);
const { model } = loadCompose([paths.compose, paths.composeObservability], env);
const rulesDir = join(paths.observability, 'prometheus/rules');
const ruleTexts = readdirSync(rulesDir).filter((f) => f.endsWith('.yml')).map((f) => read(join(rulesDir, f)));
const collectorTargets = read(join(paths.observability, 'prometheus/targets/compose/otel-collector.yml'));
const scrapedCollectorPorts = [...collectorTargets.matchAll(/otel-collector:(\d+)/g)].map((m) => m[1]);
const serviceDefaults = read(join(paths.root, 'apps/src/Shortener.ServiceDefaults/Extensions.cs'));
const targetsDir = join(paths.observability, 'prometheus/targets/compose');
const targetLabelsByJob = Object.fromEntries(readdirSync(targetsDir).filter((f) => f.endsWith('.yml')).map((f) => [
  f.replace(/\.yml$/, ''), (parseYaml(read(join(targetsDir, f))) ?? []).flatMap((group) => Object.keys(group.labels ?? {}))]));
const prometheus = obs('prometheus/prometheus.yml');
const show = (list) => list.map((v) => `${v.rule} ${v.subject}: ${v.message}`).join('\n');

describe('telemetry configs satisfy every rule', () => {
  test('trace-query-window: Grafana\'s trace-by-ID window widens both ways', () => {
    const found = checkTraceQueryWindow(obs('grafana/provisioning/datasources/datasources.yaml').datasources);
    assert.deepEqual(found, [], show(found));
  });

  test('retention: Prometheus keeps the longest rule window + 2d, in compose and in make run', () => {
    const compose = model.services.prometheus.command.find((a) => a.startsWith('--storage.tsdb.retention.time=')).split('=')[1];
    const appHost = /retention\.time=(\w+)/.exec(read(join(paths.root, 'apps/src/Shortener.AppHost/AppHost.cs')))[1];
    const found = [...checkRetention('compose (.env.example)', compose, ruleTexts), ...checkRetention('AppHost', appHost, ruleTexts),
      ...checkRetention('compose default', /PROMETHEUS_RETENTION:-(\w+)/.exec(read(paths.composeObservability))[1], ruleTexts)];
    assert.deepEqual(found, [], show(found));
  });

  test('batch-size: collector batches fit Tempo\'s OTLP gRPC receive limit', () => {
    const found = checkBatchFitsReceiver(obs('otel-collector/config.yaml'), obs('tempo/config.yaml'));
    assert.deepEqual(found, [], show(found));
  });

  test('loki-labels and loki-cache: service.instance.id is structured metadata; results are cached', () => {
    const loki = obs('loki/config.yaml');
    assert.deepEqual(checkLoki(loki), [], show(checkLoki(loki)));
    assert.ok(lokiIndexedAttributes(loki).includes('service.name'), 'service_name stays a label (Grafana links use it)');
  });

  test('span-metrics: server spans only, and rates say they are sampled', () => {
    const tempo = obs('grafana/provisioning/datasources/datasources.yaml').datasources.find((d) => d.type === 'tempo');
    const found = checkSpanMetricQueries(tempo.jsonData.tracesToMetrics.queries);
    assert.deepEqual(found, [], show(found));
    const old = [{ name: 'Request rate', query: 'sum(rate(traces_spanmetrics_calls_total{$$__tags}[5m]))' }];
    assert.equal(checkSpanMetricQueries(old).length, 2, 'the old query: no span_kind filter, no sampling note');
  });

  test('trace-cap: the collector caps the span rate clients can force', () => {
    const found = checkTraceCap(obs('otel-collector/config.yaml'));
    assert.deepEqual(found, [], show(found));
  });

  test('unscraped-metrics: no OTLP metrics path that nothing reads', () => {
    const found = checkMetricsPath(obs('otel-collector/config.yaml'), scrapedCollectorPorts, serviceDefaults);
    assert.deepEqual(found, [], show(found));
  });
});

describe('Prometheus target labels', () => {
  test('label-clash: no target label renames an exporter\'s own label (traefik service -> exported_service)', () => {
    const found = checkTargetLabelClashes(prometheus, targetLabelsByJob);
    assert.deepEqual(found, [], show(found));
    const withoutHonor = { scrape_configs: prometheus.scrape_configs.map((j) => ({ ...j, honor_labels: undefined })) };
    assert.match(show(checkTargetLabelClashes(withoutHonor, targetLabelsByJob)), /label-clash traefik: target label service/);
  });
});

describe('the telemetry rules report each bad fixture', () => {
  test('trace-query-window on a negative spanStartTimeShift', () => {
    assert.match(show(checkTraceQueryWindow(bad('datasources.yaml').datasources)), /trace-query-window tempo: traceQuery.spanStartTimeShift -1h/);
  });
  test('retention 15d under 30-day windows', () => {
    assert.match(show(checkRetention('old', '15d', ruleTexts)), /retention 15d < longest rule window 30d/);
    assert.match(show(checkRetention('old', '31d', ruleTexts)), /retention 31d/, 'a day of margin is not enough');
  });
  test('batch-size: 8192 spans against the 4 MiB default', () => {
    assert.match(show(checkBatchFitsReceiver(bad('collector.yaml'), bad('tempo.yaml'))), /batch-size otlp_grpc\/tempo: .* 4 MiB/);
  });
  test('loki-labels: a structured_metadata rule shadowed by the defaults; loki-cache off', () => {
    const found = show(checkLoki(bad('loki.yaml')));
    assert.match(found, /loki-labels service.instance.id/);
    assert.match(found, /loki-cache query_range/);
  });
  test('trace-cap: a traces pipeline without a rate-limiting sampler', () => {
    assert.match(show(checkTraceCap(bad('collector.yaml'))), /trace-cap traces/);
  });
  test('unscraped-metrics: a metrics pipeline exporting to an unscraped port, and UseOtlpExporter()', () => {
    assert.match(show(checkMetricsPath(bad('collector.yaml'), scrapedCollectorPorts, '')), /unscraped-metrics prometheus: .*:8889/);
    assert.match(show(checkMetricsPath(obs('otel-collector/config.yaml'), scrapedCollectorPorts, 'telemetry.UseOtlpExporter();')),
      /unscraped-metrics ServiceDefaults/);
  });
});
