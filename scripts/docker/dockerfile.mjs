// A small, dependency-free reader of this project's Dockerfile and .dockerignore, shared by
// test/dockerfile.test.ts (structure checks) and scripts/docker/verify-runtime-stage.sh (which performs the
// runtime stage's steps outside a container). It understands the subset of Dockerfile syntax that a plain
// multi-stage build uses: line continuations, comments, parser directives, --flags, exec (JSON) and shell forms.
//
// CLI (used by verify-runtime-stage.sh):
//   node scripts/docker/dockerfile.mjs plan <dockerfile> <stage-root-dir>   prints a bash script of the steps
//   node scripts/docker/dockerfile.mjs copy <context> <dockerignore> <dest-dir> <src>...
//                                                                          copies context files as COPY would
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** Splits a Dockerfile into logical instructions (continuations joined, comments dropped). */
export function parseInstructions(text) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out = [];
  let buffer = '';
  let startLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    // Comment lines (also inside a continuation) and blank lines carry no instruction text.
    if (trimmed.startsWith('#') || trimmed === '') continue;
    if (buffer === '') startLine = i + 1;
    if (/\\\s*$/.test(raw)) {
      buffer += raw.replace(/\\\s*$/, '') + ' ';
      continue;
    }
    buffer += raw;
    const logical = buffer.trim();
    buffer = '';
    if (logical === '') continue;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(logical);
    if (!match) continue;
    out.push({
      ...toInstruction(match[1].toUpperCase(), match[2].trim(), startLine),
      raw: logical.replace(/\s+/g, ' '),
    });
  }
  return out;
}

function toInstruction(keyword, rest, line) {
  const flags = {};
  let args = rest;
  // Leading --name=value flags (FROM --platform, COPY --from/--chown/--chmod, RUN --mount, HEALTHCHECK --interval...).
  // HEALTHCHECK's flags come before its CMD; RUN --mount may repeat.
  for (;;) {
    const flag = /^--([a-z-]+)(?:=("[^"]*"|\S*))?\s*/.exec(args);
    if (!flag) break;
    const value = (flag[2] ?? 'true').replace(/^"|"$/g, '');
    flags[flag[1]] = flags[flag[1]] === undefined ? value : [flags[flag[1]], value].flat();
    args = args.slice(flag[0].length);
  }
  const instruction = { keyword, args, flags, line };
  if (keyword === 'HEALTHCHECK') {
    const cmd = /^CMD\s+([\s\S]*)$/i.exec(args);
    instruction.healthcheck = args.trim().toUpperCase() === 'NONE' ? 'NONE' : cmd ? parseCommand(cmd[1]) : undefined;
  }
  if (keyword === 'CMD' || keyword === 'ENTRYPOINT' || keyword === 'RUN' || keyword === 'SHELL')
    instruction.command = parseCommand(args);
  return instruction;
}

/** Exec form (a JSON array of strings) or shell form. */
export function parseCommand(args) {
  const text = args.trim();
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return { form: 'exec', argv: parsed };
    } catch {
      // Not valid JSON: Docker then runs it as a shell command, and so do we.
    }
  }
  return { form: 'shell', argv: ['/bin/sh', '-c', text], script: text };
}

/** Parses KEY=VALUE pairs (ENV, LABEL, ARG) with double-quoted values, or the legacy `ENV KEY value` form. */
export function parsePairs(args) {
  const pairs = [];
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g;
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*=/.test(args.trim())) {
    const legacy = /^(\S+)\s+([\s\S]*)$/.exec(args.trim());
    if (legacy) return [[legacy[1], legacy[2]]];
  }
  for (let m = re.exec(args); m !== null; m = re.exec(args)) {
    let value = m[2];
    if (value !== undefined) {
      if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      else if (value.startsWith("'")) value = value.slice(1, -1);
    }
    pairs.push([m[1], value]);
  }
  return pairs;
}

/** Expands ${VAR}, ${VAR:-default} and $VAR from `vars`. */
export function expand(text, vars) {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, braced, def, bare) => {
      const name = braced ?? bare;
      const value = vars[name];
      return value !== undefined && value !== '' ? value : (def ?? '');
    },
  );
}

/**
 * The whole Dockerfile: global ARGs (before the first FROM), with their defaults, and the stages in order, each
 * with its base (`from`, ARGs expanded), `fromRaw` (as written), its name and its instructions.
 */
export function parseDockerfile(text) {
  const instructions = parseInstructions(text);
  const globalArgs = {};
  const stages = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({
        index: stages.length,
        fromRaw: m[1],
        from: expand(m[1], globalArgs),
        name: m[2] ?? String(stages.length),
        line: ins.line,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: only ARG may precede the first FROM`);
      for (const [k, v] of parsePairs(ins.args)) globalArgs[k] = v ?? '';
    } else {
      stages.at(-1).instructions.push(ins);
    }
  }
  return { globalArgs, stages, instructions };
}

/** Parsed .dockerignore rules, in order. */
export function parseDockerignore(text) {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix
        .normalize((negate ? l.slice(1) : l).trim())
        .replace(/^\/+|\/+$/g, '')
        .replace(/^\.\//, '');
      return { negate, pattern, re: globToRegExp(pattern) };
    });
}

function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of directories, including none; a trailing `**` matches everything.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end === -1) re += '\\[';
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether a context path (relative, with /) is left out of the build context. As in Docker: the last rule that
 * matches the path or one of its parent directories wins.
 */
export function isIgnored(path, rules) {
  const clean = posix.normalize(path).replace(/^\.\//, '').replace(/\/+$/, '');
  const parts = clean.split('/');
  const candidates = parts.map((_p, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.re.test(c))) ignored = !rule.negate;
  }
  return ignored;
}

/** Every file of `src` (relative to `context`) that the build context contains. */
export function contextFiles(context, rules, src) {
  const root = join(context, src);
  if (!existsSync(root)) return [];
  const files = [];
  const walk = (rel) => {
    const abs = join(context, rel);
    if (statSync(abs).isDirectory()) {
      for (const entry of readdirSync(abs)) walk(posix.join(rel, entry));
    } else if (!isIgnored(rel, rules)) files.push(rel);
  };
  walk(posix.normalize(src).replace(/\/+$/, ''));
  return files;
}

// ---------------------------------------------------------------------------------------------------------
// The plan: the final stage and the stages it depends on, as bash, each stage in its own directory
// <root>/<stage>/ standing for its filesystem root. Substitutions, each printed as a comment in the plan:
//  - FROM <image>: an empty directory; the base image's node/npm are this machine's.
//  - RUN npm ci (without --omit=dev): the build stage's full install is this checkout's node_modules (same
//    package-lock.json, checked), linked instead of downloaded again.
//  - RUN --mount=...: the mount flags are dropped.
//  - USER, EXPOSE, STOPSIGNAL, HEALTHCHECK, ENTRYPOINT, CMD, LABEL: recorded for the caller, which starts the
//    server as the image would.

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

export function stageDependencies(dockerfile, stage) {
  const names = new Set(dockerfile.stages.map((s) => s.name));
  const deps = [];
  if (names.has(stage.from)) deps.push(stage.from);
  for (const ins of stage.instructions) {
    if (ins.keyword === 'COPY' && typeof ins.flags.from === 'string' && names.has(ins.flags.from))
      deps.push(ins.flags.from);
  }
  return [...new Set(deps)];
}

export function plan(dockerfileText, rootDir, selfPath) {
  const df = parseDockerfile(dockerfileText);
  const byName = new Map(df.stages.map((s) => [s.name, s]));
  const final = df.stages.at(-1);
  const order = [];
  const visit = (stage) => {
    if (order.includes(stage)) return;
    for (const dep of stageDependencies(df, stage)) visit(byName.get(dep));
    order.push(stage);
  };
  visit(final);

  const fullInstalls = new Set();
  const lines = ['set -euo pipefail', `CONTEXT=\${CONTEXT:?}`, `PLAN_ROOT=${q(rootDir)}`];
  const meta = {};
  for (const stage of order) {
    const dir = `$PLAN_ROOT/${stage.name}`;
    lines.push('', `# ---- stage ${stage.name} (FROM ${stage.fromRaw}, Dockerfile line ${stage.line})`);
    const parent = byName.get(stage.from);
    const env = parent ? { ...parent.env } : {};
    let workdir = parent ? parent.workdir : '/';
    // Each stage runs in a subshell: its ENV reaches its own RUN steps and those of stages built FROM it only.
    lines.push('(');
    if (parent) {
      lines.push(`cp -a "$PLAN_ROOT/${parent.name}" "${dir}"`);
      for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${q(v)}`);
    } else
      lines.push(`# base image ${stage.from}: an empty root; node and npm are this machine's`, `mkdir -p "${dir}"`);
    const stageMeta = {
      user: parent?.meta?.user ?? '',
      labels: {},
      expose: [],
      healthcheck: undefined,
      entrypoint: undefined,
      cmd: undefined,
      stopsignal: undefined,
    };
    // Global ARGs are visible in a stage only when redeclared there (`ARG NAME`), as in Docker.
    const args = {};
    const enter = () => `cd "${dir}${workdir}"`;
    for (const ins of stage.instructions) {
      const vars = { ...args, ...env };
      lines.push(`# ${ins.raw.length > 110 ? `${ins.raw.slice(0, 107)}...` : ins.raw}`);
      switch (ins.keyword) {
        case 'ARG':
          for (const [k, v] of parsePairs(ins.args)) args[k] = v ?? df.globalArgs[k] ?? '';
          break;
        case 'ENV':
          for (const [k, v] of parsePairs(ins.args)) {
            env[k] = expand(v ?? '', vars);
            lines.push(`export ${k}=${q(env[k])}`);
          }
          break;
        case 'WORKDIR':
          workdir = posix.resolve(workdir, expand(ins.args, vars));
          lines.push(`mkdir -p "${dir}${workdir}"`);
          break;
        case 'COPY':
        case 'ADD': {
          const parts = ins.args.startsWith('[') ? JSON.parse(ins.args) : ins.args.split(/\s+/);
          const rawDest = expand(parts.at(-1), vars);
          // Keep a trailing slash: `COPY a b ./` copies into the directory, `COPY a /x/b` names the file.
          const dest =
            posix.resolve(workdir, rawDest) + (/(^|\/)\.?\/?$/.test(rawDest) || rawDest.endsWith('/') ? '/' : '');
          const sources = parts.slice(0, -1).map((s) => expand(s, vars));
          const from = typeof ins.flags.from === 'string' ? ins.flags.from : undefined;
          if (from === undefined) {
            lines.push(
              `node ${q(selfPath)} copy "$CONTEXT" "$CONTEXT/.dockerignore" "${dir}${dest}" ${sources.map(q).join(' ')}`,
            );
          } else if (byName.has(from)) {
            const devModules = sources.find((s) => fullInstalls.has(from) && /node_modules/.test(s));
            if (devModules)
              throw new Error(
                `line ${ins.line}: COPY --from=${from} ${devModules}: that is the stage's full install, development dependencies included`,
              );
            for (const s of sources)
              lines.push(`node ${q(selfPath)} copy-dir "$PLAN_ROOT/${from}${posix.resolve('/', s)}" "${dir}${dest}"`);
          } else {
            throw new Error(
              `line ${ins.line}: COPY --from=${from} (an external image) cannot be performed outside a container`,
            );
          }
          break;
        }
        case 'RUN': {
          const script = ins.command.form === 'exec' ? ins.command.argv.map(q).join(' ') : ins.command.script;
          // Build ARGs are in the environment of RUN, as in Docker.
          const argExports = Object.entries(args)
            .map(([k, v]) => `export ${k}=${q(v)}; `)
            .join('');
          lines.push(enter());
          if (/^npm ci\b/.test(script) && !/--omit[= ]dev|--production|--only[= ]prod/.test(script)) {
            fullInstalls.add(stage.name);
            lines.push(
              "# substituted: the full install is this checkout's node_modules (same lockfile)",
              'cmp -s package-lock.json "$CONTEXT/package-lock.json" || { echo "package-lock.json differs from the checkout" >&2; exit 1; }',
              'ln -s "$CONTEXT/node_modules" node_modules',
            );
          } else {
            lines.push(`( ${argExports}${script} )`);
          }
          break;
        }
        case 'USER':
          stageMeta.user = expand(ins.args, vars);
          break;
        case 'EXPOSE':
          stageMeta.expose.push(...ins.args.split(/\s+/));
          break;
        case 'LABEL':
          for (const [k, v] of parsePairs(ins.args)) stageMeta.labels[k] = expand(v ?? '', vars);
          break;
        case 'STOPSIGNAL':
          stageMeta.stopsignal = ins.args;
          break;
        case 'HEALTHCHECK':
          stageMeta.healthcheck = ins.healthcheck;
          break;
        case 'ENTRYPOINT':
          stageMeta.entrypoint = ins.command;
          stageMeta.cmd = undefined; // as in Docker: a new ENTRYPOINT resets an inherited CMD
          break;
        case 'CMD':
          stageMeta.cmd = ins.command;
          break;
        case 'SHELL':
        case 'ONBUILD':
        case 'VOLUME':
        case 'MAINTAINER':
          throw new Error(
            `line ${ins.line}: ${ins.keyword} is not supported by this emulation; extend scripts/docker/dockerfile.mjs`,
          );
        default:
          throw new Error(`line ${ins.line}: unknown instruction ${ins.keyword}`);
      }
    }
    lines.push(')');
    stage.env = env;
    stage.workdir = workdir;
    stage.meta = stageMeta;
    if (stage === final) Object.assign(meta, stageMeta, { env, workdir, root: `${rootDir}/${stage.name}` });
  }
  const argv = [...(meta.entrypoint?.argv ?? []), ...(meta.cmd?.argv ?? [])];
  lines.push(
    '',
    '# ---- what the image runs',
    `IMAGE_ROOT=${q(meta.root)}`,
    `IMAGE_WORKDIR=${q(meta.workdir)}`,
    `IMAGE_USER=${q(meta.user)}`,
    `IMAGE_STOPSIGNAL=${q(meta.stopsignal ?? 'SIGTERM')}`,
    `IMAGE_ENV=(${Object.entries(meta.env)
      .map(([k, v]) => q(`${k}=${v}`))
      .join(' ')})`,
    `IMAGE_ARGV=(${argv.map(q).join(' ')})`,
    `IMAGE_HEALTHCHECK=(${meta.healthcheck && meta.healthcheck !== 'NONE' ? meta.healthcheck.argv.map(q).join(' ') : ''})`,
  );
  return lines.join('\n') + '\n';
}

function copyContext(context, ignoreFile, dest, sources) {
  const rules = existsSync(ignoreFile) ? parseDockerignore(readFileSync(ignoreFile, 'utf8')) : [];
  for (const src of sources) {
    const abs = join(context, src);
    if (!existsSync(abs)) throw new Error(`COPY ${src}: not in the build context`);
    const files = contextFiles(context, rules, src);
    if (files.length === 0) throw new Error(`COPY ${src}: excluded by .dockerignore`);
    const isDir = statSync(abs).isDirectory();
    for (const file of files) {
      // A directory's contents land in dest; a file lands in dest/ (or as dest when copying one file to a name).
      const rel = isDir ? posix.relative(posix.normalize(src).replace(/\/+$/, ''), file) : posix.basename(file);
      const intoDir =
        isDir || sources.length > 1 || dest.endsWith('/') || (existsSync(dest) && statSync(dest).isDirectory());
      const target = intoDir ? join(dest, rel) : dest;
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(context, file), target, { preserveTimestamps: true });
    }
  }
}

function copyDir(src, dest) {
  if (!existsSync(src)) throw new Error(`COPY --from: ${src} does not exist in that stage`);
  mkdirSync(dest, { recursive: true });
  if (statSync(src).isDirectory())
    cpSync(src, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  else cpSync(src, join(dest, posix.basename(src)));
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === 'plan') {
      process.stdout.write(plan(readFileSync(rest[0], 'utf8'), rest[1], self));
    } else if (command === 'copy') {
      const [context, ignoreFile, dest, ...sources] = rest;
      copyContext(context, ignoreFile, dest, sources);
    } else if (command === 'copy-dir') {
      copyDir(rest[0], rest[1]);
    } else {
      process.stderr.write(
        'usage: dockerfile.mjs plan <Dockerfile> <root> | copy <context> <.dockerignore> <dest> <src>... | copy-dir <src> <dest>\n',
      );
      process.exit(2);
    }
  } catch (err) {
    process.stderr.write(`dockerfile.mjs ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
