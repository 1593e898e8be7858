/**
 * An object the API server would refuse is refused at `plan` and `synth`, naming the object and
 * the wave to split, instead of failing the step's sync mid-migration.
 */
import * as fs from 'fs';
import { configMapDataBytes, CONFIGMAP_DATA_LIMIT_BYTES, ETCD_REQUEST_LIMIT_BYTES, objectLimitFinding, REQUEST_BODY_LIMIT_BYTES } from '../src/plan/object-limits';
import { lastAppliedBytes } from '../src/gitops/server-side-apply';
import { cli, demoWorkspace, editConfig, setStep, treeDigest } from './support/workspace';

const configMap = (name: string, data: Record<string, string>, binaryData?: Record<string, string>) => ({ kind: 'ConfigMap', metadata: { name, namespace: 'kube-system' }, data, ...(binaryData ? { binaryData } : {}) });

describe('objectLimitFinding', () => {
  it('counts a ConfigMap as ValidateConfigMap does: data as UTF-8 bytes, binaryData decoded', () => {
    expect(configMapDataBytes(configMap('a', { x: 'é'.repeat(10), y: 'abc' }, { z: Buffer.alloc(7).toString('base64') }))).toBe(20 + 3 + 7);
  });

  it('takes a ConfigMap of exactly 1 MiB of data and refuses one byte more, naming the wave to split', () => {
    const name = 'cni-migrate-gate-wave-3-0123abcd';
    const at = configMap(name, { nodes: 'x'.repeat(CONFIGMAP_DATA_LIMIT_BYTES) });
    expect(objectLimitFinding(at, '00-gate/cm.yaml', lastAppliedBytes(at))).toBeUndefined();
    const past = configMap(name, { nodes: 'x'.repeat(CONFIGMAP_DATA_LIMIT_BYTES + 1) });
    const over = objectLimitFinding(past, '00-gate/cm.yaml', lastAppliedBytes(past));
    expect(over).toEqual({
      severity: 'error', code: 'object-over-api-limit', field: 'spec.nodes',
      message: `ConfigMap kube-system/${name} (dist/00-gate/cm.yaml) holds 1,048,577 bytes of data, over the 1,048,576 the API server accepts in one ConfigMap: the step's sync would fail`,
      fix: 'split wave 3, whose nodes this object names: a lower spec.nodes.waveStrategy.maxWaveSize, or fewer nodes in spec.nodes.waves[2]',
    });
  });

  it('warns past etcd\'s default request size and refuses past the API server\'s request body limit', () => {
    const set = (nodes: string) => ({ kind: 'DaemonSet', metadata: { name: 'cni-migrate-switch', namespace: 'kube-system', labels: { 'cni-migrate.io/nodes': nodes } } });
    expect(objectLimitFinding(set('wave-2'), '40-nodes/ds.yaml', ETCD_REQUEST_LIMIT_BYTES)).toBeUndefined();
    const warning = objectLimitFinding(set('wave-2'), '40-nodes/ds.yaml', ETCD_REQUEST_LIMIT_BYTES + 1)!;
    expect([warning.severity, warning.code, warning.fix]).toEqual(['warning', 'object-near-etcd-limit', 'split wave 2, whose nodes this object names: a lower spec.nodes.waveStrategy.maxWaveSize, or fewer nodes in spec.nodes.waves[1]']);
    const error = objectLimitFinding(set('newcomers'), '40-nodes/ds.yaml', REQUEST_BODY_LIMIT_BYTES + 1)!;
    expect([error.severity, error.field]).toEqual(['error', undefined]);
    expect(error.message).toBe('DaemonSet kube-system/cni-migrate-switch (dist/40-nodes/ds.yaml) is 3,145,729 bytes as JSON, over the 3,145,728 the API server reads from one request: the step\'s sync would fail');
    expect(error.fix).toMatch(/^no setting makes it smaller: it names every node of the inventory/);
  });
});

describe('a wave too large for its gate ConfigMap', () => {
  // 4,200 workers whose names are as long as Kubernetes allows (253 characters): one wave of them
  // is 1,066,800 bytes of names, past the ConfigMap limit; two waves are half that each.
  const workers = Array.from({ length: 4200 }, (_, i) => `w${String(i).padStart(5, '0')}-${'a'.repeat(56)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`);

  function workspace() {
    const ws = demoWorkspace();
    const lines = ['apiVersion: cni-migrate.io/v1alpha1', 'kind: NodeInventory', 'nodes:'];
    [...['cp-1', 'cp-2', 'cp-3'], ...workers].forEach((name, i) => {
      const cp = i < 3;
      lines.push(`- {name: ${name}, roles: [${cp ? 'control-plane' : ''}], internalIP: 172.16.${i >> 8}.${i & 255}, podCIDRs: [10.${32 + (i >> 8)}.${i & 255}.0/24], containerRuntime: 'containerd://1.7.24', cniConfigFiles: [10-weave.conflist]}`);
    });
    fs.writeFileSync(`${ws.cluster}/nodes.yaml`, `${lines.join('\n')}\n`);
    return ws;
  }

  it('is refused by plan and synth with the ConfigMap and the wave named, and nothing written; split in two, it passes', async () => {
    const ws = workspace();
    editConfig(ws, (d) => {
      delete d.spec.nodes.waveStrategy;
      d.spec.nodes.waves = [workers, ['cp-1'], ['cp-2'], ['cp-3']];
    });
    const first = await cli(ws, 'synth');
    expect([first.code, first.stderr]).toEqual([0, '']);
    const before = treeDigest(ws.dist);
    setStep(ws, 'nodes-1');
    const synth = await cli(ws, 'synth');
    expect(synth.code).toBe(2);
    expect(synth.stderr.trim().split('\n')).toHaveLength(1);
    expect(synth.stderr).toMatch(/ConfigMap kube-system\/cni-migrate-gate-wave-1-[0-9a-f]{8} \(dist\/00-gate\/configmap-kube-system-cni-migrate-gate-wave-1-[0-9a-f]{8}\.yaml\) holds 1,066,800 bytes of data, over the 1,048,576 the API server accepts in one ConfigMap/);
    expect(synth.stderr).toContain('split wave 1');
    expect(treeDigest(ws.dist)).toEqual(before);
    const plan = await cli(ws, 'plan');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/^ERROR object-over-api-limit: ConfigMap kube-system\/cni-migrate-gate-wave-1-/m);

    editConfig(ws, (d) => (d.spec.nodes.waves = [workers.slice(0, 2100), workers.slice(2100), ['cp-1'], ['cp-2'], ['cp-3']]));
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect(fs.readFileSync(`${ws.dist}/PLAN.md`, 'utf8')).not.toContain('object-over-api-limit');
  });
});
