import { describe, it } from 'node:test';
import fc from 'fast-check';
import { paramFuzzTargets } from './params.fuzz.ts';

/** The query parameter fuzz targets with a thousand inputs each (`npm run fuzz` runs far more). */
describe('query parameters under fuzzing', () => {
  for (const target of paramFuzzTargets()) {
    it(target.name, () => {
      fc.assert(target.property, { numRuns: 1000 });
    });
  }
});
