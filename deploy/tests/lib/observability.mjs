// Policy checks for the telemetry configs that cannot run here (Grafana, Loki, Tempo, Collector) and
// for Prometheus retention. Each returns violations ({ rule, subject, message });
// observability.test.mjs runs them on the shipped files (clean) and on fixtures/bad-observability.

const violation = (rule, subject, message) => ({ rule, subject, message });

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
/** Prometheus/Grafana durations ("1h", "-5m", "1d12h") in seconds (sign kept). */
export function durationSeconds(text) {
  const value = String(text).trim();
  const sign = value.startsWith('-') ? -1 : 1;
  let total = 0;
  for (const [, n, unit] of value.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d+)?)(ms|[smhdwy])/g)) total += Number(n) * UNIT_SECONDS[unit];
  return sign * total;
}

/**
 * Grafana's Tempo datasource, trace by ID (makeTraceIdRequest): from = start - spanStartTimeShift,
 * to = end + spanEndTimeShift. A negative start shift narrows the window, so links to traces that
 * left the ingester say "trace not found".
 */
export function checkTraceQueryWindow(datasources) {
  const out = [];
  for (const ds of datasources.filter((d) => d.type === 'tempo')) {
    const q = ds.jsonData?.traceQuery;
    if (!q?.timeShiftEnabled) continue;
    for (const key of ['spanStartTimeShift', 'spanEndTimeShift']) {
      if (q[key] !== undefined && durationSeconds(q[key]) < 0) {
        out.push(violation('trace-query-window', ds.uid, `traceQuery.${key} ${q[key]} narrows the trace-by-ID window (Grafana subtracts the start shift)`));
      }
    }
  }
  return out;
}

/** The longest range selector or window ([30d]) in rule files, in seconds. */
export function longestRuleWindow(ruleTexts) {
  let longest = 0;
  for (const text of ruleTexts) for (const [, range] of text.matchAll(/\[(\d+[smhdwy])(?::[^\]]*)?\]/g)) longest = Math.max(longest, durationSeconds(range));
  return longest;
}

/** Retention must hold the longest rule window plus a margin (2 days). */
export function checkRetention(subject, retention, ruleTexts) {
  const longest = longestRuleWindow(ruleTexts);
  const margin = 2 * 86400;
  return durationSeconds(retention) >= longest + margin ? []
    : [violation('retention', subject, `retention ${retention} < longest rule window ${longest / 86400}d + 2d: 30-day budgets would see part of the window`)];
}

// An upper bound for one OTLP span or log record as the services produce them (attributes, events, links).
export const MAX_ITEM_BYTES = 2048;

/** The collector's batches to Tempo must fit Tempo's OTLP gRPC receive limit (default 4 MiB). */
export function checkBatchFitsReceiver(collector, tempo) {
  const out = [];
  const limitMib = tempo.distributor?.receivers?.otlp?.protocols?.grpc?.max_recv_msg_size_mib ?? 4;
  for (const [id, exporter] of Object.entries(collector.exporters ?? {})) {
    if (!/^otlp_grpc\/tempo/.test(id)) continue;
    const batch = exporter.sending_queue?.batch;
    if (!batch) continue;
    const bytes = batch.sizer === 'bytes' ? batch.max_size : (batch.max_size ?? 8192) * MAX_ITEM_BYTES;
    if (!batch.max_size || bytes > limitMib * 1024 * 1024) {
      out.push(violation('batch-size', id, `a batch of up to ${batch.max_size ?? 'unbounded'} ${batch.sizer ?? 'items'} (~${Math.round(bytes / 1048576)} MiB) exceeds Tempo's ${limitMib} MiB gRPC limit: dropped as a permanent error`));
    }
  }
  return out;
}

// Loki 3.x's DefaultOTLPResourceAttributesAsIndexLabels includes service.instance.id.
const LOKI_DEFAULT_INDEX_LABELS = ['service.name', 'service.namespace', 'service.instance.id', 'deployment.environment',
  'deployment.environment.name', 'cloud.region', 'cloud.availability_zone', 'k8s.cluster.name', 'k8s.namespace.name',
  'k8s.pod.name', 'k8s.container.name', 'container.name', 'k8s.replicaset.name', 'k8s.deployment.name',
  'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.cronjob.name', 'k8s.job.name'];
// Per-process values: as labels they start a new stream on every restart.
const CHURNING = ['service.instance.id', 'k8s.pod.name', 'k8s.replicaset.name'];

/** Which OTLP resource attributes Loki indexes (defaults first, first match wins: pkg/validation). */
export function lokiIndexedAttributes(loki) {
  const ra = loki.limits_config?.otlp_config?.resource_attributes ?? {};
  const rules = [...(ra.ignore_defaults ? [] : [{ action: 'index_label', attributes: LOKI_DEFAULT_INDEX_LABELS }]), ...(ra.attributes_config ?? [])];
  const all = new Set([...LOKI_DEFAULT_INDEX_LABELS, ...rules.flatMap((r) => r.attributes ?? [])]);
  return [...all].filter((attribute) => rules.find((r) => (r.attributes ?? []).includes(attribute))?.action === 'index_label');
}

export function checkLoki(loki) {
  const out = [];
  for (const attribute of lokiIndexedAttributes(loki).filter((a) => CHURNING.includes(a))) {
    out.push(violation('loki-labels', attribute, `${attribute} is an index label: a new stream on every restart (store it as structured metadata)`));
  }
  if (loki.query_range?.cache_results !== true) out.push(violation('loki-cache', 'query_range', 'query_range.cache_results is off: the results cache is configured but unused'));
  return out;
}

/**
 * OTLP metrics must go somewhere that is read: a collector metrics pipeline needs its Prometheus
 * exporter scraped, and services must not push metrics nothing receives.
 */
export function checkMetricsPath(collector, scrapedCollectorPorts, serviceDefaultsSource) {
  const out = [];
  const pipeline = collector.service?.pipelines?.metrics;
  if (pipeline) {
    for (const id of pipeline.exporters ?? []) {
      const port = /:(\d+)$/.exec(collector.exporters?.[id]?.endpoint ?? '')?.[1];
      if (id.startsWith('prometheus') && !scrapedCollectorPorts.includes(port)) {
        out.push(violation('unscraped-metrics', id, `the collector's metrics pipeline exports to :${port}, which Prometheus does not scrape`));
      }
    }
  }
  if (/\.UseOtlpExporter\(/.test(serviceDefaultsSource) && !pipeline) {
    out.push(violation('unscraped-metrics', 'ServiceDefaults', 'UseOtlpExporter() pushes metrics over OTLP, and the collector has no metrics pipeline'));
  }
  if (/\.UseOtlpExporter\(/.test(serviceDefaultsSource) && pipeline) {
    out.push(violation('unscraped-metrics', 'ServiceDefaults', 'UseOtlpExporter() pushes metrics that Prometheus already scrapes from /metrics'));
  }
  return out;
}

// Label names the exporters put on their own series (sources: traefik pkg/metrics/prometheus.go,
// cadvisor metrics/prometheus.go, redis_exporter and postgres_exporter collectors).
export const EXPORTER_LABELS = {
  traefik: ['service', 'router', 'entrypoint', 'code', 'method', 'protocol', 'url', 'tls_version', 'tls_cipher', 'cn', 'serial', 'sans'],
  cadvisor: ['id', 'name', 'image', 'interface', 'device', 'cpu', 'failure_type', 'scope', 'state'],
  'redis-exporter': ['addr', 'alias', 'db', 'cmd', 'stream', 'group', 'role'],
  'postgres-exporter': ['datname', 'server', 'state', 'mode', 'usename', 'application_name'],
};

/**
 * A target label that the job's own series also carry is renamed on the series (exported_<name>)
 * unless the job honours scraped labels: queries on that label then match nothing.
 */
export function checkTargetLabelClashes(prometheus, targetLabelsByJob) {
  const out = [];
  for (const job of prometheus.scrape_configs ?? []) {
    const exporterLabels = EXPORTER_LABELS[job.job_name] ?? [];
    for (const label of targetLabelsByJob[job.job_name] ?? []) {
      if (exporterLabels.includes(label) && job.honor_labels !== true) {
        out.push(violation('label-clash', job.job_name, `target label ${label} clashes with the ${job.job_name} series' own ${label}: theirs becomes exported_${label}`));
      }
    }
  }
  return out;
}

/** Clients control the sampled flag at the edge, so the traces pipeline must cap the span rate. */
export function checkTraceCap(collector) {
  const traces = collector.service?.pipelines?.traces;
  const capped = (traces?.processors ?? []).some((id) => id.startsWith('tail_sampling')
    && (collector.processors?.[id]?.policies ?? []).some((p) => p.type === 'rate_limiting' && p.rate_limiting?.spans_per_second > 0));
  return capped ? [] : [violation('trace-cap', 'traces', 'no tail_sampling rate_limiting policy in the traces pipeline: any client can force 100 % tracing')];
}

/**
 * Span metrics count every span kind and only sampled spans: a query must pick server spans, and a
 * rate must say it is sampled. `queries`: [{ name, query }].
 */
export function checkSpanMetricQueries(queries) {
  const out = [];
  for (const { name, query } of queries) {
    if (!/traces_spanmetrics_/.test(query)) continue;
    if (!/span_kind\s*=~?\s*"SPAN_KIND_SERVER/.test(query)) out.push(violation('span-metrics', name, 'no span_kind="SPAN_KIND_SERVER" filter: client and internal spans are counted too'));
    if (/calls_total/.test(query) && !/sampled/i.test(name)) out.push(violation('span-metrics', name, 'a span-metrics rate does not say it counts sampled spans (~10 %)'));
  }
  return out;
}
