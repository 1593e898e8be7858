/**
 * Preflight findings: what `cni-migrate plan` reports and what refuses a synth.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  readonly severity: Severity;
  /** Stable identifier, for machines and for suppressing in reviews. */
  readonly code: string;
  /** What was found. */
  readonly message: string;
  /** How to fix it (or what the tool does about it). */
  readonly fix: string;
  /**
   * The input field the finding is about, e.g. spec.network.calicoCIDR.
   * @default - not tied to one field
   */
  readonly field?: string;
  /**
   * The file that field is in, when it is not migration.yaml (e.g. cluster/nodes.yaml).
   * @default migration.yaml
   */
  readonly file?: string;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, warnings, then infos; within a severity, in the order the checks ran (most basic first). */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings.map((f, i) => ({ f, i })).sort((a, b) => ORDER[a.f.severity] - ORDER[b.f.severity] || a.i - b.i).map((x) => x.f);
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
