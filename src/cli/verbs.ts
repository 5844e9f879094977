/** The capabilities' verb registrations, in the order `--help` lists them. */
import type { Command } from 'commander';
import { registerCommands as registerDispatch } from '../dispatch/cli.js';
import { registerCommands as registerDiscovery } from '../discovery/cli.js';
import { registerCommands as registerHub } from '../hub/cli.js';
import { registerCommands as registerKit } from '../kit/cli.js';
import { registerCommands as registerMesh } from '../mesh/cli.js';
import { registerCommands as registerStart } from '../start/cli.js';
import { registerCommands as registerSync } from '../sync/cli.js';
import { registerCommands as registerTools } from '../tools/cli.js';

export type RegisterCommands = (program: Command) => void;

export const VERB_MODULES: RegisterCommands[] = [
  // `hub` and `start` (the composition root), then the hub's `services`.
  registerStart,
  registerHub,
  registerMesh,
  registerTools,
  registerSync,
  registerDispatch,
  // After sync and dispatch: it adds `new` to their `connector` group and `agent` verb.
  registerKit,
  registerDiscovery,
];
