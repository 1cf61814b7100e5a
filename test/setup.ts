/**
 * Mocha root hooks: start the backend once (ALIGNMIX_BACKEND picks one; default auto) and say
 * which backend the tests ran on, so a CI log always shows it.
 */
import { describeBackend, initBackend } from '../lib/backend';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120000);
    const info = await initBackend();
    console.log(`  [alignmix] tests run on backend: ${describeBackend(info)}`);
  },
};
