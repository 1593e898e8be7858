/**
 * What the loss probers counted during the step (src/scripts/loss-prober.sh): the last summary
 * line of each prober pod's log, `loss: step=<step> from=<net> sent=<n> failed=<n> <target>=...`.
 */
import type { ApiClient } from './api-client';

export interface LossCount {
  /** The network the prober is on. */
  readonly from: string;
  readonly pod: string;
  readonly sent: number;
  readonly failed: number;
  /** Per target: `<failed>/<sent>`, or `waiting` until it first answered. */
  readonly targets: Readonly<Record<string, string>>;
  readonly ready: boolean;
}

/** The last summary line of a prober's log, parsed; undefined when it has written none yet. */
export function parseLossLine(log: string): Omit<LossCount, 'pod' | 'ready'> & { step: string } | undefined {
  const line = log.split('\n').filter((l) => l.startsWith('loss: step=')).pop();
  if (!line) return undefined;
  const fields = Object.fromEntries(line.slice('loss: '.length).trim().split(/\s+/).map((f) => {
    const i = f.indexOf('=');
    return [f.slice(0, i), f.slice(i + 1)];
  }));
  const { step, from, sent, failed, ...targets } = fields;
  if (!/^\d+$/.test(sent ?? '') || !/^\d+$/.test(failed ?? '')) return undefined;
  return { step, from, sent: Number(sent), failed: Number(failed), targets };
}

/**
 * Each prober's count of this step, and what is wrong with it: a network without a prober of this
 * step, a prober with no count yet, a target never answered, more loss than allowed.
 */
export async function collectLossCounts(api: ApiClient, namespace: string, component: string, step: string, networks: readonly string[], maxLossPercent: number): Promise<{ counts: LossCount[]; problems: string[] }> {
  const pods = await api.list<any>(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/component=${component}`)}`, 'loss prober pods');
  const counts: LossCount[] = [];
  const problems: string[] = [];
  for (const net of networks) {
    const pod = pods
      .filter((p) => p.metadata?.labels?.['cni-migrate.io/probe'] === net && p.metadata?.annotations?.['cni-migrate.io/step'] === step && p.status?.phase === 'Running')
      .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))[0];
    if (!pod) {
      problems.push(`no loss prober of step ${step} runs on the ${net} network yet (Deployment ${namespace}/probe-loss-from-${net})`);
      continue;
    }
    const name = pod.metadata.name as string;
    const log = await api.getText(`/api/v1/namespaces/${namespace}/pods/${name}/log?container=loss&tailLines=50`);
    const parsed = log === undefined ? undefined : parseLossLine(log);
    const ready = (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
    if (!parsed) {
      problems.push(`the loss prober on ${net} (${name}) has not reported a count yet (every 10 s)`);
      continue;
    }
    counts.push({ from: net, pod: name, sent: parsed.sent, failed: parsed.failed, targets: parsed.targets, ready });
    const waiting = Object.entries(parsed.targets).filter(([, v]) => v === 'waiting').map(([k]) => k);
    if (waiting.length) problems.push(`the loss prober on ${net} has had no answer yet from ${waiting.join(' and ')}: kubectl logs --namespace=${namespace} ${name}`);
    if (parsed.failed * 100 > maxLossPercent * parsed.sent) {
      problems.push(`${parsed.failed} of ${parsed.sent} requests from ${net} failed during ${step}, more than spec.probe.maxLossPercent (${maxLossPercent}%): when, in kubectl logs --namespace=${namespace} ${name}`);
    }
  }
  return { counts, problems };
}
