/**
 * Launchers by name, for `alignmix sweep run --launcher NAME` and notebooks. Each takes the
 * launcher's options and the extra command-line arguments given after `--` (e.g. a scheduler's
 * resource flags); see the Launcher interface in ./sweep.ts.
 */
import { localLauncher } from './launch-local';
import { slurmLauncher } from './launch-slurm';
import { parseSlurmArgs } from './slurm-options';
import { Launcher } from './sweep';

export interface LauncherSettings {
  /** Local: runs at once. */
  jobs?: number;
  /** Local: compute threads shared by the jobs. */
  threads?: number;
  /** Arguments after `--` on the command line, passed to the launcher as they are. */
  extraArgs: string[];
}

export const LAUNCHERS: Record<string, (settings: LauncherSettings) => Launcher> = {
  local: ({ jobs, threads, extraArgs }) => {
    if (extraArgs.length) throw new Error(`the local launcher takes no extra arguments, got ${extraArgs.join(' ')}`);
    return localLauncher({ jobs, threads });
  },
  slurm: ({ extraArgs }) => slurmLauncher(parseSlurmArgs(extraArgs)),
};

export function launcherNames(): string[] {
  return Object.keys(LAUNCHERS);
}

/**
 * What the launchers that can tell (Slurm: squeue / scontrol) say of the sweep's unfinished runs,
 * by run index; empty for a sweep only ever run locally.
 */
export async function launcherNotes(dir: string): Promise<Map<number, string>> {
  const notes = new Map<number, string>();
  for (const make of Object.values(LAUNCHERS)) {
    for (const [index, note] of (await make({ extraArgs: [] }).describe?.(dir)) ?? []) notes.set(index, note);
  }
  return notes;
}

/** The launcher called `name` (error listing the known ones). */
export function createLauncher(name: string, settings: LauncherSettings): Launcher {
  const make = LAUNCHERS[name];
  if (!make) throw new Error(`unknown launcher '${name}'; known: ${launcherNames().join(', ')}`);
  return make(settings);
}
