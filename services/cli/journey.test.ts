/** `journey` as a newcomer meets it: help for every command, its options and an example; a wrong command named, exit 2. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const JOURNEY = path.resolve(import.meta.dirname, 'journey.ts');
const COMMANDS = ['start', 'run', 'produce', 'generate', 'migrate', 'sql', 'alerts'];

/** The CLI's exit code and output; no services are reached (help and usage errors come first). */
const journey = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [JOURNEY, ...args], { env: { PATH: process.env.PATH ?? '' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });

describe('journey help', () => {
  it.each([['help'], ['--help'], ['-h']])('`journey %s` lists every command on stdout, exit 0', async (word) => {
    const { code, stdout } = await journey(word);
    expect(code).toBe(0);
    expect(COMMANDS.filter((name) => !new RegExp(`^  ${name} `, 'm').test(stdout))).toEqual([]);
  });

  it.each(COMMANDS)('`journey %s --help` and `journey help %s` give its options and an example', async (name) => {
    const [asked, viaHelp] = await Promise.all([journey(name, '--help'), journey('help', name)]);
    expect({ code: asked.code, same: asked.stdout === viaHelp.stdout }).toEqual({ code: 0, same: true });
    expect(asked.stdout).toMatch(new RegExp(`^journey ${name}`));
    expect(asked.stdout).toMatch(/\nexample: /);
  });

  it('names a command it does not know, with the list, exit 2', async () => {
    const { code, stderr } = await journey('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^unknown command frobnicate\nusage: journey <command>/);
  });

  it("tells a command's wrong use with that command's help", async () => {
    const { code, stderr } = await journey('run', 'nothing');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^unknown service nothing; known: collector, processor, sink, alerts, dashboard\njourney run <service>/);
  });
});
