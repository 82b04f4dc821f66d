/**
 * `npm run fuzz [-- --runs N] [-- --seed S]`: runs every fuzz target (the OTLP protobuf and JSON
 * decoders, the query parameter parsers) for N inputs in total (default 1,000,000), shared by the
 * targets' weights, and prints for each its inputs, time and any counterexample (shrunk to a
 * minimal one by fast-check, with the seed and path to replay it). The decoder properties fail an
 * input that takes over a second. Exits 1 if a property fails. The tests run the same targets
 * with a few hundred inputs each.
 */
import fc from 'fast-check';
import { decoderFuzzTargets, type FuzzTarget } from '../src/ingest/decode-otlp.fuzz.ts';
import { paramFuzzTargets } from '../src/query/params.fuzz.ts';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const total = Number(option('runs') ?? process.env.FUZZ_RUNS ?? 1_000_000);
const seed = Number(option('seed') ?? Date.now() % 2 ** 31);
if (!Number.isSafeInteger(total) || total < 1)
  throw new Error(`--runs must be a positive integer, got ${option('runs')}`);

const started = performance.now();
const targets: FuzzTarget[] = [...decoderFuzzTargets(), ...paramFuzzTargets()];
const weights = targets.reduce((sum, t) => sum + t.weight, 0);
console.log(`fuzzing ${targets.length} targets with ${total.toLocaleString('en')} inputs in all, seed ${seed}`);

let failed = 0;
let inputs = 0;
for (const target of targets) {
  const numRuns = Math.max(1, Math.round((total * target.weight) / weights));
  const t0 = performance.now();
  const result = fc.check(target.property, { numRuns, seed });
  const seconds = (performance.now() - t0) / 1000;
  inputs += result.numRuns;
  console.log(
    `${result.failed ? 'FAILED' : 'ok    '} ${target.name}: ${result.numRuns.toLocaleString('en')} inputs in ` +
      `${seconds.toFixed(1)} s (${Math.round((seconds * 1e6) / Math.max(1, result.numRuns))} µs each)`,
  );
  if (result.failed) {
    failed++;
    console.log(fc.defaultReportMessage(result));
  }
}
console.log(
  `${inputs.toLocaleString('en')} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
    `${failed === 0 ? 'no property failed' : `${failed} target(s) failed`}; ` +
    `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
);
process.exit(failed === 0 ? 0 : 1);
