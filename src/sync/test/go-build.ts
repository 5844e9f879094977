/**
 * Builds the Go interop programs (`../connectors/go-interop/`: a connector, `../connectors/go-host/`: a host) with the real
 * go-plugin library from Debian's packages, in GOPATH mode, into os.tmpdir(), cached by a hash of
 * their sources and the toolchain. For tests and the benchmark; nothing built is committed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** The Go sources beside the example connectors (tests and benchmarks run from the source tree). */
const sourceRoot = join(here, '..', 'connectors');
const sharedProto = join(sourceRoot, '..', 'proto', 'connector.proto');

/** Debian's packages that hold the toolchain and libraries (also in .ci/run). */
export const GO_PACKAGES =
  'golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler';
const GOCODE = '/usr/share/gocode';

export type GoProgram = 'go-interop' | 'go-host' | 'go-state' | 'go-bench';

/** Why the Go interop programs cannot be built here, or undefined when they can. */
export async function goMissing(): Promise<string | undefined> {
  for (const tool of ['go', 'protoc', 'protoc-gen-go']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (Debian: apt-get install ${GO_PACKAGES})`;
    }
  }
  if (!existsSync(join(GOCODE, 'src/github.com/hashicorp/go-plugin')))
    return `go-plugin sources are missing from ${GOCODE} (apt-get install ${GO_PACKAGES})`;
  return undefined;
}

/** Like needService: outside CI a missing toolchain skips the test; with CI=true it fails. */
export async function needGo(t: TestContext): Promise<boolean> {
  const missing = await goMissing();
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(`${missing} (CI=true: the Go interop tests must run)`);
  t.skip(missing);
  return false;
}

const inFlight = new Map<GoProgram, Promise<string>>();

/** The path of the built program (built on first use, then cached under os.tmpdir()). */
export function buildGoProgram(program: GoProgram): Promise<string> {
  let p = inFlight.get(program);
  if (!p) {
    p = build(program);
    inFlight.set(program, p);
    p.catch(() => inFlight.delete(program));
  }
  return p;
}

async function build(program: GoProgram): Promise<string> {
  const main = join(sourceRoot, program, 'main.go');
  // A program may pin its own copy of the proto (go-interop: c1-core's, without state).
  const own = join(sourceRoot, program, 'connector.proto');
  const protoFile = existsSync(own) ? own : sharedProto;
  const { stdout: goVersion } = await run('go', ['version']);
  const hash = createHash('sha256')
    .update(await readFile(main))
    .update(await readFile(protoFile))
    .update(goVersion)
    .digest('hex')
    .slice(0, 16);
  const cacheDir = join(tmpdir(), 'switchboard-go');
  const binary = join(cacheDir, `${program}-${hash}`);
  if (existsSync(binary)) return binary;
  await mkdir(cacheDir, { recursive: true });
  const gopath = await mkdtemp(join(tmpdir(), 'switchboard-gopath-'));
  try {
    const protoDir = join(gopath, 'src', 'sbinterop', 'proto');
    const mainDir = join(gopath, 'src', 'sbinterop', program);
    await mkdir(protoDir, { recursive: true });
    await mkdir(mainDir, { recursive: true });
    await copyFile(protoFile, join(protoDir, 'connector.proto'));
    await copyFile(main, join(mainDir, 'main.go'));
    await run('protoc', ['--go_out=plugins=grpc,paths=source_relative:.', 'connector.proto'], { cwd: protoDir });
    const partial = `${binary}.${process.pid}.tmp`;
    const env = { ...process.env, GOPATH: `${gopath}:${GOCODE}`, GO111MODULE: 'off', GOFLAGS: '' };
    try {
      await run('go', ['build', '-o', partial, `sbinterop/${program}`], {
        cwd: gopath,
        env,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`go build of ${program} failed:\n${stderr}`, { cause: err });
    }
    await rename(partial, binary);
    return binary;
  } finally {
    await rm(gopath, { recursive: true, force: true });
  }
}
