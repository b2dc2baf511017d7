// Builds the job executor image's build context, as Phobos's job-executor image: a root filesystem
// holding this repository's Node 22 (and the shared libraries it links), /bin/sh, and the executor
// bundled into one file by esbuild, with a Dockerfile `FROM scratch` that copies it. Nothing comes
// from a registry, so `docker build` works on a machine that reaches none.
//
//   npm run executor-image -- <directory>          the context in <directory>
//   docker build -t phobos-edge-executor <directory>
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The shared libraries (and the loader) a dynamically linked program needs, by `ldd`. */
function sharedLibraries(program: string): string[] {
  const output = execFileSync('ldd', [program], { encoding: 'utf8' });
  return [...output.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((match) => match[1]!);
}

function copyInto(rootfs: string, path: string, target = path): void {
  const destination = join(rootfs, target);
  mkdirSync(dirname(destination), { recursive: true });
  copyFileSync(realpathSync(path), destination);
  chmodSync(destination, 0o755);
}

export const executorImageCommand = ['/usr/local/bin/node', '/opt/phobos/executor.mjs'];

/** Writes the build context (rootfs/ and Dockerfile) into `directory`. */
export async function buildExecutorContext(directory: string, node = process.execPath): Promise<void> {
  const rootfs = join(directory, 'rootfs');
  mkdirSync(join(rootfs, 'opt/phobos'), { recursive: true });
  await build({
    entryPoints: [join(repositoryRoot, 'src/agent/executor/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile: join(rootfs, 'opt/phobos/executor.mjs'),
    logLevel: 'warning',
  });
  copyInto(rootfs, node, '/usr/local/bin/node');
  // exec_command runs its command with `sh -c`: the host's POSIX shell, as /bin/sh.
  const shell = existsSync('/bin/dash') ? '/bin/dash' : realpathSync('/bin/sh');
  copyInto(rootfs, shell, '/bin/sh');
  // And `sleep`, which commands (and the tests of cancellation) wait with.
  const sleepProgram = realpathSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim());
  copyInto(rootfs, sleepProgram, '/bin/sleep');
  for (const library of new Set([node, shell, sleepProgram].flatMap(sharedLibraries))) copyInto(rootfs, library);
  // The executor's workspace and log spool live under the temporary directory.
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  writeFileSync(
    join(directory, 'Dockerfile'),
    ['FROM scratch', 'COPY rootfs/ /', 'ENV PATH=/usr/local/bin:/bin', 'WORKDIR /tmp', `CMD ${JSON.stringify(executorImageCommand)}`, ''].join('\n'),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const directory = process.argv[2];
  if (!directory) {
    process.stderr.write('usage: npm run executor-image -- <directory>\n');
    process.exit(2);
  }
  await buildExecutorContext(resolve(directory));
  process.stdout.write(`executor image context in ${resolve(directory)}: docker build -t phobos-edge-executor ${resolve(directory)}\n`);
}
