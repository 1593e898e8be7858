/**
 * dist/waves.md: every wave with every node, for the reviewer who needs the full list that
 * PLAN.md summarizes on a large cluster. It says nothing about the current step, so advancing a
 * wave leaves it unchanged (only that wave's Job files, PLAN.md and step.json change).
 */
import type { MigrationPlan } from '../plan/migration-plan';

export const WAVES_FILE = 'waves.md';

export function renderWavesMarkdown(plan: MigrationPlan): string {
  const L = [`# cni-migrate: ${plan.migration.metadata.name}: the waves`, ''];
  L.push('Each wave is one `nodes-<wave>` step: one commit, reviewed and reverted as a unit. The current step and which waves are switched are in PLAN.md.', '');
  plan.waves.forEach((nodes, i) => {
    L.push(`## Wave ${i + 1} (${nodes.length} node${nodes.length === 1 ? '' : 's'})`, '', ...nodes.map((n) => `- ${n}`), '');
  });
  return L.join('\n');
}
