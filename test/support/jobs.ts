/**
 * The switch step of a synthesized node Job, ready to run outside a cluster.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';

export interface SwitchStep {
  readonly job: string;
  readonly script: string;
  readonly env: Record<string, string>;
}

/** The `switch` container of the Job in `distDir` for `node` with the given desired state. */
export function switchStepOf(distDir: string, node: string, desired: string): SwitchStep {
  const dir = path.join(distDir, '40-nodes');
  for (const f of fs.readdirSync(dir).filter((x) => x.startsWith('job-')).sort()) {
    const job = YAML.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const pod = job.spec.template.spec;
    if (pod.nodeName !== node || job.metadata.labels['cni-migrate.io/desired'] !== desired) continue;
    const sw = [...(pod.initContainers ?? []), ...pod.containers].find((c: any) => c.name === 'switch');
    return { job: job.metadata.name, script: sw.command[2], env: Object.fromEntries(sw.env.map((e: any) => [e.name, e.value])) };
  }
  throw new Error(`no ${desired} Job for ${node} in ${dir}`);
}
