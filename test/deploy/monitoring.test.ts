import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../helpers/app.ts';

/**
 * The Compose monitoring set-up (no Docker engine here, so it is checked as files): Prometheus
 * scrapes every app replica's METRICS_PORT, Grafana is provisioned with it, and every query of
 * the committed dashboard names a metric a running app really exports.
 */

interface ComposeService {
  image?: string;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  environment?: Record<string, unknown>;
}

const root = process.cwd();
const readYaml = <T>(file: string): T => parse(readFileSync(path.join(root, file), 'utf8'), { merge: true }) as T;
const compose = readYaml<{ 'x-app': { environment: Record<string, unknown> }; services: Record<string, ComposeService> }>('docker-compose.yml');
const services = compose.services;

/** `./host/path:/container/path[:ro]` → the container path mounted from `hostPath`. */
function mountOf(service: ComposeService, hostPath: string): string | undefined {
  const volume = service.volumes?.find((entry) => entry.startsWith(`${hostPath}:`));
  return volume?.split(':')[1];
}

interface Panel {
  title: string;
  targets: { expr: string }[];
}

const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy/grafana/dashboards/chat.json'), 'utf8')) as { uid: string; panels: Panel[] };

describe('Compose monitoring', () => {
  it('serves the app replicas\' metrics on 9464, published nowhere', () => {
    expect(compose['x-app'].environment.METRICS_PORT).toBe(9464);
    expect(services.app?.expose).toContain('9464');
    expect(services.app?.ports).toBeUndefined();
    expect(services.prometheus?.ports).toBeUndefined();
    const published = Object.entries(services).filter(([, service]) => service.ports).map(([name]) => name);
    expect(published.sort()).toEqual(['grafana', 'nginx']);
    expect(services.grafana?.ports).toEqual(['${GRAFANA_BIND:-127.0.0.1}:${GRAFANA_PORT:-3000}:3000']);
  });

  it('has Prometheus find every replica through Docker DNS (type A on `app`, port 9464)', () => {
    expect(mountOf(services.prometheus!, './deploy/prometheus/prometheus.yml')).toBe('/etc/prometheus/prometheus.yml');
    const config = readYaml<{ scrape_configs: { job_name: string; metrics_path?: string; dns_sd_configs?: unknown[] }[] }>('deploy/prometheus/prometheus.yml');
    const chat = config.scrape_configs.find((job) => job.job_name === 'chat');
    expect(chat).toMatchObject({ metrics_path: '/metrics', dns_sd_configs: [{ names: ['app'], type: 'A', port: 9464 }] });
  });

  it('provisions Grafana with the Prometheus data source and the committed dashboards', () => {
    const grafana = services.grafana!;
    expect(mountOf(grafana, './deploy/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const dashboardsDir = mountOf(grafana, './deploy/grafana/dashboards');
    const datasources = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>('deploy/grafana/provisioning/datasources/prometheus.yml');
    expect(datasources.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>('deploy/grafana/provisioning/dashboards/chat.yml');
    expect(providers.providers.map((provider) => provider.options.path)).toEqual([dashboardsDir]);
    expect(readdirSync(path.join(root, 'deploy/grafana/dashboards'))).toContain('chat.json');
    expect(existsSync(path.join(root, 'deploy/grafana/provisioning/datasources/prometheus.yml'))).toBe(true);
  });
});

describe('the Grafana dashboard', () => {
  let server: TestServer;
  let exported: Set<string>;

  beforeAll(async () => {
    server = await startTestServer();
    await fetch(`${server.baseUrl}/api/health`); // a labelled series exists once observed
    const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    exported = new Set([...text.matchAll(/^(\w+)(?:\{| )/gm)].map((match) => match[1]!));
  });
  afterAll(async () => {
    await server?.app.close();
  });

  it('has the panels of the issue', () => {
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const wanted of [/^Requests per second by route/, /^Latency by route \(p50, p95, p99\)/, /^WebSocket connections/, /^SSE streams/, /^Online users/, /^Messages/, /^Event delivery lag/, /^Rate-limited actions by limit/]) {
      expect(titles.some((title) => wanted.test(title)), `${wanted}`).toBe(true);
    }
  });

  it('queries only metrics the app exports', () => {
    const queried = dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => [...target.expr.matchAll(/\b(?:http|chat|process|nodejs)_\w+/g)].map((match) => match[0])));
    expect(queried.length).toBeGreaterThan(10);
    expect(queried.filter((name) => !exported.has(name))).toEqual([]);
  });
});
