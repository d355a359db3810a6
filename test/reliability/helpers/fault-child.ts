/**
 * Child process of the fault tests. `<mode> <outputDir>`:
 * - `kill-mid-step`: trains, and in step 5 (after checkpoint-4, gradients computed, update not yet
 *   applied) announces MID-STEP and waits to be SIGKILLed.
 * - `disk-full`: trains with a disk that fills up after the first checkpoint: fs writes get a byte
 *   budget of 60% of that checkpoint, then write what fits and fail with ENOSPC, as a full disk does.
 *   Prints the error the run ends with as `RESULT <json>`.
 */
import { initBackend } from '@distillery/trainer';
import { faultModel, faultTrainer } from './fault-run.js';
import { armDiskQuota, folderBytes } from './disk-quota.js';

const [mode, outputDir] = process.argv.slice(2);
if (!outputDir || (mode !== 'kill-mid-step' && mode !== 'disk-full')) throw new Error('usage: fault-child.ts kill-mid-step|disk-full <outputDir>');
await initBackend({ backend: 'cpu', log: false });

if (mode === 'kill-mid-step') {
  await faultTrainer(faultModel(), outputDir, [
    {
      onBeforeOptimizerStep: async (_args, state) => {
        if (state.globalStep !== 4) return;
        process.stdout.write('MID-STEP 5\n');
        await new Promise((resolve) => setTimeout(resolve, 120_000));
      },
    },
  ]).train();
} else {
  let armed = false;
  try {
    await faultTrainer(faultModel(), outputDir, [
      {
        onSave: (_args, _state, _control, ctx) => {
          if (armed) return;
          armed = true;
          armDiskQuota(Math.floor(0.6 * folderBytes(ctx.checkpointDir!)));
        },
      },
    ]).train();
    process.stdout.write('RESULT {"code":"NONE"}\n');
  } catch (e) {
    const err = e as Error & { code?: string; cause?: { code?: string } };
    process.stdout.write(`RESULT ${JSON.stringify({ code: err.code, message: err.message, cause: err.cause?.code })}\n`);
  }
}
