// Types for dockerfile.mjs (used by test/dockerfile.test.ts).

export interface ParsedCommand {
  form: 'exec' | 'shell';
  argv: string[];
  script?: string;
}

export interface Instruction {
  keyword: string;
  args: string;
  flags: Record<string, string | string[]>;
  line: number;
  raw: string;
  command?: ParsedCommand;
  healthcheck?: ParsedCommand | 'NONE';
}

export interface Stage {
  index: number;
  fromRaw: string;
  from: string;
  name: string;
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
  instructions: Instruction[];
}

export interface IgnoreRule {
  negate: boolean;
  pattern: string;
  re: RegExp;
}

export function parseInstructions(text: string): Instruction[];
export function parseCommand(args: string): ParsedCommand;
export function parsePairs(args: string): [string, string | undefined][];
export function expand(text: string, vars: Record<string, string | undefined>): string;
export function parseDockerfile(text: string): Dockerfile;
export function parseDockerignore(text: string): IgnoreRule[];
export function isIgnored(path: string, rules: IgnoreRule[]): boolean;
export function contextFiles(context: string, rules: IgnoreRule[], src: string): string[];
export function stageDependencies(dockerfile: Dockerfile, stage: Stage): string[];
export function plan(dockerfileText: string, rootDir: string, selfPath: string): string;
