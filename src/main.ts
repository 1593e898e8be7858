/**
 * cdk8s entry point (`cdk8s synth` runs `node build/src/main.js` with CDK8S_OUTDIR set): synthesize
 * the current step of ./migration.yaml into the output folder, exactly as `cni-migrate synth`.
 */
import * as path from 'path';
import { InputError } from './config/errors';
import { PlanRefusedError, synthToDisk } from './synth/synth';

export function runCdk8sApp(env: NodeJS.ProcessEnv = process.env): number {
  const configFile = path.resolve(env.CNI_MIGRATE_CONFIG ?? 'migration.yaml');
  try {
    synthToDisk({ configFile, outDir: path.resolve(env.CDK8S_OUTDIR ?? path.join(path.dirname(configFile), 'dist')) });
    return 0;
  } catch (e) {
    if (e instanceof InputError || e instanceof PlanRefusedError) {
      process.stderr.write(`${e.message}\n`);
      return InputError.EXIT_CODE;
    }
    throw e;
  }
}

if (require.main === module) {
  process.exitCode = runCdk8sApp();
}
