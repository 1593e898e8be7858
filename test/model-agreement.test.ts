/**
 * One model, read everywhere: at every step of the demo, what synth renders (node switches, the gate
 * Job, the cluster-CIDR Jobs, policies, Weave's objects), PLAN.md and step.json state exactly what
 * the step model says. `status` is checked against the same model in status.test.ts.
 */
import * as YAML from 'yaml';
import { gateCheckList } from '../src/model/gate-checks';
import { loadPlan } from '../src/plan/migration-plan';
import { renderStep } from '../src/synth/render';
import { stepList } from '../src/steps/steps';
import { stepsOf, switchSetsByNode } from './support/jobs';
import { demoWorkspace, editConfig, setStep } from './support/workspace';

const STEPS = stepList(5).map((s) => s.name);

describe.each(['argocd', 'flux'])('the model and what is rendered from it (%s)', (engine) => {
  const ws = demoWorkspace();
  editConfig(ws, (d) => {
    d.spec.gitops.engine = engine;
    d.spec.probe = { enabled: true };
    d.spec.nodes.restartDaemonSetPods = true;
  });

  it.each(STEPS)('agree at %s', (step) => {
    setStep(ws, step);
    const plan = loadPlan({ configFile: ws.config });
    const { model } = plan;
    const files = renderStep(plan).dist;
    const objs = [...files].filter(([f]) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml')).map(([file, text]) => ({ file, obj: YAML.parse(text) }));
    const jobs = objs.filter((o) => o.obj.kind === 'Job').map((o) => o.obj);

    // Node switches: each node is selected by one DaemonSet per convergence of the model, with
    // its desired state, conflist and drain; no node Job.
    expect(jobs.filter((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'node-switch')).toEqual([]);
    const sets = switchSetsByNode(objs.map((o) => o.obj), model.nodes.map((n) => n.name));
    const rendered = [...sets].flatMap(([node, dss]) => dss.filter((ds) => ds.metadata.name !== 'cni-migrate-newcomer-switch').map((ds) => {
      const steps = stepsOf(ds);
      const env = steps.flatMap((c: any) => c.env ?? []);
      return `${node} ${ds.metadata.labels['cni-migrate.io/desired']} ${env.find((e: any) => e.name === 'CALICO_CONF').value} drain=${steps.some((c: any) => c.name === 'drain')}`;
    })).sort();
    const modelled = model.nodes.flatMap((n) => n.convergences.map((c) => `${n.name} ${c.desired} ${c.calicoConfName} drain=${!!c.drain}`)).sort();
    expect(rendered).toEqual(modelled);
    // The newcomers' own DaemonSet exists exactly while the model gives them a convergence of their own.
    expect(objs.some((o) => o.obj.kind === 'DaemonSet' && o.obj.metadata.name === 'cni-migrate-newcomer-switch')).toBe(model.newcomers.daemonSet === 'cni-migrate-newcomer-switch');

    // The gate Job runs exactly the model's checks, in its order, with its CIDR.
    const gate = jobs.find((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'gate');
    const checks = model.gate ? gateCheckList(model.gate) : [];
    expect(gate ? gate.spec.template.spec.containers.map((c: any) => c.name) : []).toEqual(checks.map((c) => c.kind));
    if (model.gate?.noPodsInWeaveCidr) {
      expect(gate.spec.template.spec.containers.find((c: any) => c.name === 'no-weave-pods').env).toEqual(expect.arrayContaining([{ name: 'NETWORK', value: 'weave' }, { name: 'POD_CIDR', value: model.gate.noPodsInWeaveCidr }]));
    }
    if (model.gate?.noPodsInCalicoCidr) {
      expect(gate.spec.template.spec.containers.find((c: any) => c.name === 'no-calico-pods').env).toEqual(expect.arrayContaining([{ name: 'NETWORK', value: 'calico' }, { name: 'POD_CIDR', value: model.gate.noPodsInCalicoCidr }]));
    }

    // Cluster CIDR: every controller-manager Job sets the model's value for the phase.
    const kcmJobs = jobs.filter((j) => j.metadata.name.startsWith('cidr-kcm-'));
    expect(kcmJobs.map((j) => `${j.spec.template.spec.nodeName}=${j.spec.template.spec.containers[0].env.find((e: any) => e.name === 'CLUSTER_CIDR').value}`).sort())
      .toEqual((model.clusterCidr.targets?.controllerManagers ?? []).map((t) => `${t.node}=${t.cidr[model.clusterCidr.phase]}`).sort());
    if (model.clusterCidr.value) expect(kcmJobs.length).toBeGreaterThan(0);

    // Policies and Weave's objects: exactly the model's.
    const key = (o: any) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    expect(objs.filter((o) => o.file.startsWith('30-policies/') && o.obj.kind === 'NetworkPolicy').map((o) => key(o.obj)).sort()).toEqual(model.policies.objects.map(key).sort());
    expect(objs.some((o) => o.obj.kind === 'ValidatingAdmissionPolicy')).toBe(!!model.policies.freeze);
    expect(objs.filter((o) => o.file.startsWith('50-weave/') && o.obj.metadata.labels?.['app.kubernetes.io/name'] !== 'cni-migrate').map((o) => key(o.obj)).sort()).toEqual(model.weave.objects.map(key).sort());
    expect(objs.some((o) => o.obj.kind === 'DaemonSet' && o.obj.metadata.name === 'calico-node')).toBe(model.calico.installed);
    const ds = objs.find((o) => o.obj.kind === 'DaemonSet' && o.obj.metadata.name === 'calico-node')?.obj;
    if (ds) expect(ds.spec.template.spec.initContainers.find((c: any) => c.name === 'install-cni').env).toContainEqual({ name: 'CNI_CONF_NAME', value: model.calico.confName });

    // PLAN.md and step.json state the same checks, cluster CIDR and switched nodes.
    const planMd = files.get('PLAN.md')!;
    for (const c of checks) expect(planMd).toContain(c.text);
    if (!model.gate) expect(planMd).not.toMatch(/checked in the cluster by/);
    const json = JSON.parse(files.get('step.json')!);
    expect(json.network.clusterCIDR).toBe(model.clusterCidr.value ?? 'unchanged');
    expect(json.waves.filter((w: any) => w.switched).flatMap((w: any) => w.nodes).sort()).toEqual(model.nodes.filter((n) => n.switched).map((n) => n.name).sort());
    expect(json.state).toEqual(model.state);
  });
});
