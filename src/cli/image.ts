import type { Command } from "commander";
export function registerImage(_program: Command): void {}
