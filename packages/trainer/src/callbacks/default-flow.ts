/** HF's DefaultFlowCallback: decides when to log, evaluate, save and stop, from the arguments. */
import type { CallbackHook, TrainerCallback } from './handler.js';

export class DefaultFlowCallback implements TrainerCallback {
  readonly name = 'DefaultFlowCallback';

  onStepEnd: CallbackHook = (args, state, control) => {
    const step = state.globalStep;
    if (step === 1 && args.loggingFirstStep) control.shouldLog = true;
    if (args.loggingStrategy === 'steps' && step % args.loggingSteps === 0) control.shouldLog = true;
    if (args.evalStrategy === 'steps' && step % args.evalSteps === 0) control.shouldEvaluate = true;
    if (args.saveStrategy === 'steps' && step % args.saveSteps === 0) control.shouldSave = true;
    if (step >= state.maxSteps) {
      control.shouldTrainingStop = true;
      // The last step is always saved when saving is on, so a finished run is resumable.
      if (args.saveStrategy !== 'no') control.shouldSave = true;
    }
  };

  onEpochEnd: CallbackHook = (args, _state, control) => {
    if (args.loggingStrategy === 'epoch') control.shouldLog = true;
    if (args.evalStrategy === 'epoch') control.shouldEvaluate = true;
    if (args.saveStrategy === 'epoch') control.shouldSave = true;
  };
}
