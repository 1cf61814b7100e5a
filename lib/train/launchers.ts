/**
 * Launchers by name, for `alignmix sweep run --launcher NAME` and notebooks. Each takes the
 * launcher's options and the extra command-line arguments given after `--` (e.g. a scheduler's
 * resource flags); see the Launcher interface in ./sweep.ts.
 */
import { localLauncher } from './launch-local';
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
};

export function launcherNames(): string[] {
  return Object.keys(LAUNCHERS);
}

/** The launcher called `name` (error listing the known ones). */
export function createLauncher(name: string, settings: LauncherSettings): Launcher {
  const make = LAUNCHERS[name];
  if (!make) throw new Error(`unknown launcher '${name}'; known: ${launcherNames().join(', ')}`);
  return make(settings);
}
