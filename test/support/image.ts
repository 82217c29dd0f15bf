// Runs Sluice's services from its container image (deploy/image). No container runtime works in
// this sandbox (podman's crun cannot set rlimits or use the hybrid cgroups), so a service runs as
// `buildah run --isolation chroot` of a container made from the image: the image's own root
// filesystem, user, working folder, environment and entrypoint, on the host's network (the loopback
// stack is reachable). The image is built by deploy/image/build.sh.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Launcher } from './services.ts';
import { repoRoot } from './stack.ts';

const run = promisify(execFile);
const STORAGE = ['--storage-driver', process.env.SLUICE_IMAGE_STORAGE_DRIVER ?? 'vfs'];

export interface ImageConfig {
  tag: string;
  entrypoint: string[];
  user: string;
  workingDir: string;
  env: string[];
  labels: Record<string, string>;
  /** As the local image store reports it (e.g. "295 MB"). */
  size: string;
}

/** Builds the image (base image first if this machine has none) and returns its tag. */
export async function buildImage(): Promise<string> {
  const { stdout } = await run('bash', [`${repoRoot}deploy/image/build.sh`], {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  const tag = stdout.trim().split('\n')[0];
  if (!tag) throw new Error(`build.sh printed no tag: ${stdout}`);
  return tag;
}

export async function inspectImage(tag: string): Promise<ImageConfig> {
  const { stdout } = await run('buildah', [...STORAGE, 'inspect', '--type', 'image', tag], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const info = JSON.parse(stdout) as {
    OCIv1: {
      config: {
        Entrypoint?: string[];
        User?: string;
        WorkingDir?: string;
        Env?: string[];
        Labels?: Record<string, string>;
      };
    };
  };
  const { stdout: sizes } = await run('buildah', [...STORAGE, 'images', '--json', tag]);
  const [listed] = JSON.parse(sizes) as { size: string }[];
  const config = info.OCIv1.config;
  return {
    tag,
    entrypoint: config.Entrypoint ?? [],
    user: config.User ?? '',
    workingDir: config.WorkingDir ?? '',
    env: config.Env ?? [],
    labels: config.Labels ?? {},
    size: listed?.size ?? 'unknown',
  };
}

/** Runs a command in a fresh container of the image and returns its output. */
export async function runInImage(tag: string, args: readonly string[]): Promise<string> {
  const container = createContainer(tag, 'cmd');
  try {
    const { stdout } = await run('buildah', [
      ...STORAGE,
      'run',
      '--isolation',
      'chroot',
      container,
      '--',
      ...args,
    ]);
    return stdout;
  } finally {
    removeContainer(container);
  }
}

let counter = 0;
function createContainer(tag: string, name: string): string {
  const container = `sluice-test-${name}-${process.pid}-${++counter}`;
  execFileSync('buildah', [...STORAGE, 'from', '--quiet', '--name', container, tag], { stdio: 'ignore' });
  return container;
}

function removeContainer(container: string): void {
  try {
    execFileSync('buildah', [...STORAGE, 'rm', container], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** The processes below pid, from /proc (buildah → chroot helper → the service). */
function descendants(pid: number): { pid: number; argv0: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // ended meanwhile
    }
  }
  const found: { pid: number; argv0: string }[] = [];
  const walk = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      let argv0 = '';
      try {
        argv0 = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0] ?? '';
      } catch {
        // ended meanwhile
      }
      found.push({ pid: child, argv0 });
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/**
 * A launcher that runs `sluice <command>` as the image's entrypoint in its own container. Signals go
 * to the service's process itself: buildah answers a SIGTERM by killing its child outright, which
 * would turn every graceful stop into a kill -9.
 */
export function imageLauncher(image: ImageConfig, { mounts = [] as string[] } = {}): Launcher {
  const containers = new Map<ChildProcess, string>();
  return {
    spawn(command, env) {
      const container = createContainer(image.tag, command);
      // The stack's settings (SLUICE_*) as the tests' own processes get them, then the service's.
      const settings: Record<string, string> = {};
      for (const [key, value] of Object.entries(process.env))
        if (key.startsWith('SLUICE_') && value !== undefined) settings[key] = value;
      Object.assign(settings, env);
      const child = spawn(
        'buildah',
        [
          ...STORAGE,
          'run',
          '--isolation',
          'chroot',
          ...mounts.flatMap((dir) => ['--volume', `${dir}:${dir}:ro`]),
          ...Object.entries(settings).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
          container,
          '--',
          ...image.entrypoint,
          command,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      containers.set(child, container);
      child.once('exit', () => {
        removeContainer(container);
        containers.delete(child);
      });
      return child;
    },
    signal(child, signal) {
      if (child.pid === undefined) return;
      const service = descendants(child.pid).find(
        (p) => p.argv0 === image.entrypoint[0] || p.argv0.endsWith(`/${image.entrypoint[0]}`),
      );
      if (service) process.kill(service.pid, signal);
      else child.kill(signal);
    },
  };
}
