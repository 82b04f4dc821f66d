// The entry of the prepare worker thread (prepare-worker.ts). Worker threads do not inherit the
// tsx loader the main thread registered, so register it here, then load the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./prepare-worker-thread.ts');
