// Prepared hot-path queries are built once per database handle, and never shared between handles
// (each handle may point at another database).
import { describe, expect, it } from 'vitest';
import type { HttpDatabase } from '../../src/db/client';
import { preparedQuery } from '../../src/db/prepared';

describe('preparedQuery', () => {
  it('builds once per database handle', () => {
    let builds = 0;
    const query = preparedQuery((db) => ({ db, build: ++builds }));
    const [first, second] = [{} as HttpDatabase, {} as HttpDatabase];
    expect(query(first)).toBe(query(first));
    expect(builds).toBe(1);
    expect(query(second).db).toBe(second);
    expect(builds).toBe(2);
  });
});
