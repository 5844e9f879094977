/** The capabilities' verb registrations, in the order `--help` lists them. */
import type { Command } from 'commander';
import { registerCommands as registerDispatch } from '../dispatch/cli.js';

export type RegisterCommands = (program: Command) => void;

export const VERB_MODULES: RegisterCommands[] = [registerDispatch];
