/** The capabilities' verb registrations, in the order `--help` lists them. */
import type { Command } from 'commander';

export type RegisterCommands = (program: Command) => void;

export const VERB_MODULES: RegisterCommands[] = [];
