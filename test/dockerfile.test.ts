// The container build, checked without a container engine: the Dockerfile's structure, the build context
// (.dockerignore), and the compose deployment (docker-compose.yml, deploy/nginx.conf, .env.example).
// scripts/docker/verify-runtime-stage.sh performs the runtime stage for real; scripts/docker/build-image-podman.sh
// builds the image. Both read the Dockerfile through scripts/docker/dockerfile.mjs, as this test does.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  contextFiles,
  isIgnored,
  parseDockerfile,
  parseDockerignore,
  parsePairs,
  plan,
  type Instruction,
  type Stage,
} from '../scripts/docker/dockerfile.mjs';
import { EnvSchema } from '../src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

const dockerfile = parseDockerfile(read('Dockerfile'));
const stages = dockerfile.stages;
const runtime = stages.at(-1) as Stage;
const stageNames = new Set(stages.map((s) => s.name));
const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => all(stage, keyword).at(-1);
const script = (i: Instruction): string => i.command?.script ?? i.command?.argv.join(' ') ?? '';
const runScripts = stages.flatMap((s) => all(s, 'RUN').map((i) => ({ stage: s.name, script: script(i) })));
const ignoreRules = parseDockerignore(read('.dockerignore'));

describe('Dockerfile', () => {
  it('is multi-stage, every external base being the NODE_IMAGE build ARG with a current Node LTS default', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile.globalArgs.NODE_IMAGE).toMatch(/^node:(22|24)-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    for (const stage of stages) {
      if (!stageNames.has(stage.from) || stage.from === stage.name)
        expect(stage.fromRaw, `stage ${stage.name}`).toBe('${NODE_IMAGE}');
    }
    // The runtime starts again from the bare base image, not from a stage that holds the build toolchain.
    expect(runtime.fromRaw).toBe('${NODE_IMAGE}');
  });

  it('runs the final stage as a non-root user', () => {
    const user = last(runtime, 'USER')?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user).toBe('node');
  });

  it('leaves the application owned by root: no COPY --chown/--chmod and no RUN in the runtime stage', () => {
    for (const copy of all(runtime, 'COPY')) {
      expect(copy.flags.chown, copy.raw).toBeUndefined();
      expect(copy.flags.chmod, copy.raw).toBeUndefined();
    }
    expect(all(runtime, 'RUN')).toEqual([]);
    expect(all(runtime, 'ADD')).toEqual([]);
  });

  it('checks health against /healthz with node itself (no curl or wget)', () => {
    const health = last(runtime, 'HEALTHCHECK');
    expect(health?.healthcheck).toBeDefined();
    expect(health?.healthcheck).not.toBe('NONE');
    const command = health?.healthcheck as { form: string; argv: string[] };
    expect(command.form).toBe('exec');
    expect(command.argv[0]).toBe('node');
    expect(command.argv.join(' ')).toContain('/healthz');
    expect(dockerfile.instructions.map((i) => i.raw).join('\n')).not.toMatch(/\b(curl|wget)\b/);
  });

  it('exposes 8080, stops with SIGTERM and runs node dist/src/server.js in exec form', () => {
    expect(all(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/))).toContain('8080');
    expect(last(runtime, 'STOPSIGNAL')?.args).toBe('SIGTERM');
    const entrypoint = last(runtime, 'ENTRYPOINT')?.command;
    const cmd = last(runtime, 'CMD')?.command;
    // Shell form would make /bin/sh PID 1, and SIGTERM would never reach node's graceful drain.
    if (entrypoint) expect(entrypoint.form).toBe('exec');
    expect(cmd?.form).toBe('exec');
    expect([...(entrypoint?.argv ?? []), ...(cmd?.argv ?? [])]).toEqual(['node', 'dist/src/server.js']);
  });

  it('sets NODE_ENV=production in the runtime', () => {
    const env = Object.fromEntries(all(runtime, 'ENV').flatMap((e) => parsePairs(e.args)));
    expect(env.NODE_ENV).toBe('production');
  });

  it('installs with npm ci only, and installs before copying the sources (layer caching)', () => {
    expect(runScripts.length).toBeGreaterThan(0);
    for (const { stage, script } of runScripts) {
      expect(script, `stage ${stage}`).not.toMatch(/\b(npm|yarn|pnpm)\s+(install|i|add)\b/);
    }
    for (const stage of stages) {
      const steps = stage.instructions.map((i) => i.raw);
      const install = steps.findIndex((s) => /^RUN .*npm ci\b/.test(s));
      const sources = steps.findIndex((s) => /^COPY (src|public|\.)\b/.test(s));
      if (install >= 0 && sources >= 0)
        expect(install, `stage ${stage.name}: npm ci before COPY of sources`).toBeLessThan(sources);
      const lockfile = steps.findIndex((s) => s.startsWith('COPY package.json package-lock.json'));
      if (install >= 0) expect(lockfile, `stage ${stage.name}: package files copied first`).toBeGreaterThanOrEqual(0);
      if (install >= 0) expect(lockfile).toBeLessThan(install);
    }
  });

  it('copies into the runtime only package files, production node_modules, dist/ and public/', () => {
    const copies = all(runtime, 'COPY').map((c) => ({
      from: c.flags.from as string | undefined,
      parts: c.args.split(/\s+/),
    }));
    const fromContext = copies.filter((c) => c.from === undefined).flatMap((c) => c.parts.slice(0, -1));
    expect(new Set(fromContext)).toEqual(new Set(['package.json', 'package-lock.json', 'public']));
    const fromStages = copies.filter((c) => c.from !== undefined);
    expect(fromStages.map((c) => c.parts.slice(0, -1).join(' ')).sort()).toEqual(['/app/dist', '/app/node_modules']);
    for (const copy of fromStages) expect(stageNames.has(copy.from as string), `COPY --from=${copy.from}`).toBe(true);

    // node_modules comes from a stage whose only install is production-only.
    const modules = fromStages.find((c) => c.parts[0] === '/app/node_modules');
    const depsStage = stages.find((s) => s.name === modules?.from) as Stage;
    const installs = all(depsStage, 'RUN').map(script);
    expect(installs.length).toBe(1);
    expect(installs[0]).toMatch(/^npm ci\b.*--omit=dev/);
    // ...and it is not built on top of the build stage.
    expect(depsStage.from).not.toBe(
      stages.find((s) => all(s, 'RUN').some((r) => r.raw.includes('npm run build')))?.name,
    );
  });

  it('carries OCI labels, with the version from a build ARG', () => {
    const labels = Object.fromEntries(all(runtime, 'LABEL').flatMap((l) => parsePairs(l.args)));
    for (const key of ['title', 'description', 'source', 'licenses', 'version', 'revision', 'created']) {
      expect(labels, key).toHaveProperty(`org.opencontainers.image.${key}`);
    }
    expect(labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
    expect(labels['org.opencontainers.image.title']).toBe('asi1-voice-gateway');
    expect(labels['org.opencontainers.image.version']).toBe('${VERSION}');
    expect(all(runtime, 'ARG').some((a) => a.args.startsWith('VERSION'))).toBe(true);
  });

  it('can be performed step by step by scripts/docker/verify-runtime-stage.sh (no unsupported instruction)', () => {
    const steps = plan(read('Dockerfile'), '/tmp/plan', `${root}scripts/docker/dockerfile.mjs`);
    expect(steps).toContain('npm ci --omit=dev');
    expect(steps).toMatch(/^IMAGE_ARGV=\('node' 'dist\/src\/server\.js'\)$/m);
    expect(steps).toMatch(/^IMAGE_USER='node'$/m);
    expect(steps).toMatch(/^IMAGE_HEALTHCHECK=\('node' '-e' /m);
    // The script reads the Dockerfile through the plan rather than repeating its steps.
    expect(read('scripts/docker/verify-runtime-stage.sh')).toContain('dockerfile.mjs plan Dockerfile');
  });
});

describe('.dockerignore', () => {
  it.each([
    'node_modules/fastify/package.json',
    '.git/HEAD',
    'test/helpers.ts',
    'dist/src/server.js',
    '.env',
    '.env.production',
    'src/node_modules/x.js',
    'src/.env',
    'bench/run.ts',
    'coverage/index.html',
    '.ci/run',
    'docs/docker.md',
    'README.md',
    'src/debug.log',
  ])('excludes %s', (path) => {
    expect(isIgnored(path, ignoreRules)).toBe(true);
  });

  it.each([
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'src/server.ts',
    'public/index.html',
  ])('keeps %s', (path) => {
    expect(isIgnored(path, ignoreRules)).toBe(false);
  });

  it('keeps every file that the Dockerfile copies from the context', () => {
    for (const stage of stages) {
      for (const copy of all(stage, 'COPY').filter((c) => c.flags.from === undefined)) {
        for (const src of copy.args.split(/\s+/).slice(0, -1)) {
          expect(existsSync(`${root}${src}`), `${src} exists`).toBe(true);
          expect(contextFiles(root, ignoreRules, src).length, `${src} in the build context`).toBeGreaterThan(0);
        }
      }
    }
    // All of src/ and public/ are sent, except files that never belong in an image.
    const sent = contextFiles(root, ignoreRules, 'public');
    expect(sent).toContain('public/index.html');
  });

  it('follows Docker semantics: the last matching rule wins, and a rule on a folder covers its files', () => {
    const rules = parseDockerignore('*\n!keep/\n**/secret\nkeep/drop.txt\n');
    expect(isIgnored('anything.txt', rules)).toBe(true);
    expect(isIgnored('keep/a/b.ts', rules)).toBe(false);
    expect(isIgnored('keep/a/secret/x', rules)).toBe(true);
    expect(isIgnored('keep/drop.txt', rules)).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  // js-yaml comes with ESLint's toolchain; the compose file is plain YAML with anchors.
  const loadYaml = (createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown }).load;
  type Service = Record<string, unknown> & { environment?: Record<string, string>; healthcheck?: { test?: string[] } };
  const compose = loadYaml(read('docker-compose.yml')) as { services: Record<string, Service> };
  const services = compose.services;
  const gateways = Object.entries(services).filter(([, s]) => s.build !== undefined);
  const nginx = read('deploy/nginx.conf');

  it('runs two gateway replicas built from the Dockerfile, behind the proxy and with Redis', () => {
    expect(gateways.length).toBe(2);
    for (const [name, service] of gateways) {
      expect(service.build, name).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(service.environment?.TRUST_PROXY, name).toBe('on');
      expect(service.environment?.REDIS_URL, name).toBe('redis://redis:6379');
      expect(service.environment?.PORT, name).toBe('8080');
      expect(service.init, name).toBe(true);
      expect(service.env_file, name).toEqual([{ path: '.env', required: false }]);
      expect(service.ports, `${name} is reached through the load balancer only`).toBeUndefined();
      // Longer than SHUTDOWN_GRACE_MS (10 s) + the 5 s exit margin, or the drain is cut short by SIGKILL.
      expect(Number(String(service.stop_grace_period).replace(/s$/, '')), name).toBeGreaterThanOrEqual(15);
      expect(nginx, `${name} in the upstream`).toMatch(new RegExp(`server ${name}:8080\\b`));
    }
    expect(services.redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('publishes the load balancer on 8080 with the config from deploy/', () => {
    const lb = Object.values(services).find((s) =>
      (s.volumes as string[] | undefined)?.some((v) => v.startsWith('./deploy/')),
    );
    expect(lb).toBeDefined();
    expect(lb?.ports).toEqual(['${PUBLISH_PORT:-8080}:8080']);
    expect(lb?.image).toMatch(/^nginx:/);
  });

  it('proxies WebSockets with long timeouts, unbuffered, and sets X-Forwarded-For and the Host with its port', () => {
    expect(nginx).toMatch(/proxy_http_version 1\.1;/);
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(nginx).toMatch(/proxy_set_header Host \$http_host;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    const read = /proxy_read_timeout (\d+)s;/.exec(nginx);
    expect(Number(read?.[1])).toBeGreaterThanOrEqual(3600);
    expect(nginx).toMatch(/listen 8080;/);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const documented = new Set([...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));

  it.each(Object.keys(EnvSchema.properties))('documents %s (add new variables to .env.example)', (name) => {
    expect(documented.has(name)).toBe(true);
  });

  it('documents REDIS_URL and sets no secret', () => {
    expect(documented.has('REDIS_URL')).toBe(true);
    for (const line of example.split('\n').filter((l) => /^(ASI_ONE_API_KEY|GATEWAY_TOKENS|METRICS_TOKEN)=/.test(l))) {
      expect(line).toMatch(/=$/);
    }
  });
});
