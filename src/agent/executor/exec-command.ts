// The built-in `exec` plugin's `exec_command` action: runs `command` through `shell` (default `sh`,
// invoked as `sh -c <command>`; a list `command` runs without a shell) in `working_dir` (relative to
// the job's workspace) with `env` added, streaming stdout and stderr into the log. A command sets
// the action's outputs by writing `name=value` lines (or `name<<DELIMITER` ... `DELIMITER` for a
// multi-line value) to the file named by $PHOBOS_ACTION_OUTPUTS, as GitHub's GITHUB_OUTPUT works.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { JobInputs } from '../../protocol/agent-v1';
import { killProcessTree, reapGroup } from './process-tree';
import { volumeDirectory } from './volumes';

export const outputsFileVariable = 'PHOBOS_ACTION_OUTPUTS';

/** An input the action cannot run with: the job fails with this message. */
export class ActionInputError extends Error {}

interface ExecCommandContext {
  /** The job's workspace: working_dir and volumes are relative to it. */
  workspace: string;
  /** Unique per action in the job (names the outputs file). */
  actionIndex: number;
  baseEnv: Record<string, string>;
  volumes: JobInputs['volumes'];
  /** Receives the command's output, decoded, per stream (the caller masks and ships it). */
  output: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Aborting it stops the command's process tree. */
  signal: AbortSignal;
  killGraceMs: number;
}

interface ExecCommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  outputs: Record<string, string>;
}

interface ParsedInputs {
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  volumes: string[];
}

function scalar(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ActionInputError(`exec_command: ${field} must be a string, number or boolean`);
}

export function parseExecInputs(inputs: Record<string, unknown>): ParsedInputs {
  const { command, shell, env, working_dir: workingDir, volumes } = inputs;
  let argv: string[];
  if (Array.isArray(command)) {
    if (command.length === 0) throw new ActionInputError('exec_command: command must not be empty');
    argv = command.map((part, index) => scalar(part, `command[${index}]`));
  } else if (typeof command === 'string' && command.trim()) {
    const shellParts = shell === undefined || shell === null ? ['sh'] : scalar(shell, 'shell').trim().split(/\s+/).filter(Boolean);
    if (shellParts.length === 0) throw new ActionInputError('exec_command: shell must name a program, e.g. "bash"');
    // `bash` means `bash -c`; a shell given with its own flags ("bash -eo pipefail -c") is used as written.
    argv = [...(shellParts.length === 1 ? [shellParts[0]!, '-c'] : shellParts), command];
  } else {
    throw new ActionInputError('exec_command: command is required (a string run by the shell, or a list of arguments)');
  }
  const environment: Record<string, string> = {};
  if (env !== undefined && env !== null) {
    if (typeof env !== 'object' || Array.isArray(env)) throw new ActionInputError('exec_command: env must be a map of names to values');
    for (const [name, value] of Object.entries(env)) environment[name] = scalar(value, `env.${name}`);
  }
  if (workingDir !== undefined && workingDir !== null && typeof workingDir !== 'string')
    throw new ActionInputError('exec_command: working_dir must be a string');
  let volumeNames: string[] = [];
  if (volumes !== undefined && volumes !== null) {
    if (!Array.isArray(volumes)) throw new ActionInputError('exec_command: volumes must be a list of volume names');
    volumeNames = volumes.map((volume, index) => scalar(volume, `volumes[${index}]`));
  }
  return { argv, env: environment, workingDir: (workingDir as string | undefined) ?? '.', volumes: volumeNames };
}

/** Parses the outputs file: `name=value` lines and `name<<DELIMITER` heredocs; blank lines are ignored. */
export function parseOutputsFile(content: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = content.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (!line.trim()) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const body: string[] = [];
      for (index++; index < lines.length && lines[index] !== delimiter; index++) body.push(lines[index]!);
      if (index >= lines.length) throw new ActionInputError(`${outputsFileVariable}: output "${name}" has no closing ${delimiter} line`);
      outputs[name!.trim()] = body.join('\n');
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0) throw new ActionInputError(`${outputsFileVariable}: line ${index + 1} is neither name=value nor name<<DELIMITER`);
    outputs[line.slice(0, equals).trim()] = line.slice(equals + 1);
  }
  return outputs;
}

function volumeVariable(name: string): string {
  return `PHOBOS_VOLUME_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export async function execCommand(inputs: Record<string, unknown>, context: ExecCommandContext): Promise<ExecCommandResult> {
  const parsed = parseExecInputs(inputs);
  const cwd = isAbsolute(parsed.workingDir) ? parsed.workingDir : resolve(context.workspace, parsed.workingDir);
  mkdirSync(cwd, { recursive: true });
  const volumeEnv: Record<string, string> = {};
  for (const name of parsed.volumes) {
    if (!context.volumes.some((volume) => volume.name === name)) {
      throw new ActionInputError(
        `exec_command: volume "${name}" is not mounted by this task (mounted: ${context.volumes.map((v) => v.name).join(', ') || 'none'})`,
      );
    }
    const path = volumeDirectory(context.workspace, name);
    mkdirSync(path, { recursive: true });
    volumeEnv[volumeVariable(name)] = path;
  }
  const outputsDirectory = join(context.workspace, '.phobos');
  mkdirSync(outputsDirectory, { recursive: true });
  const outputsFile = join(outputsDirectory, `outputs-${context.actionIndex}`);
  writeFileSync(outputsFile, '');

  const child = spawn(parsed.argv[0]!, parsed.argv.slice(1), {
    cwd,
    env: { ...context.baseEnv, ...volumeEnv, ...parsed.env, [outputsFileVariable]: outputsFile },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  for (const stream of ['stdout', 'stderr'] as const) {
    const decoder = new StringDecoder('utf8');
    child[stream].on('data', (data: Buffer) => context.output(stream, decoder.write(data)));
    child[stream].on('end', () => context.output(stream, decoder.end()));
  }
  const stop = () => killProcessTree(child, context.killGraceMs);
  if (context.signal.aborted) stop();
  else context.signal.addEventListener('abort', stop, { once: true });

  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.once('error', (error) => fail(new ActionInputError(`exec_command: cannot start ${parsed.argv[0]}: ${error.message}`)));
    // `exit`, not `close`: a background process the command left holding its stdout would keep
    // `close` from ever coming. Its group is killed once the command itself has ended.
    child.once('exit', (code, signalName) => {
      reapGroup(child);
      done([code, signalName]);
    });
  });
  await closed;
  context.signal.removeEventListener('abort', stop);
  const outputs = existsSync(outputsFile) ? parseOutputsFile(readFileSync(outputsFile, 'utf8')) : {};
  return { exitCode, signal, outputs };
}
