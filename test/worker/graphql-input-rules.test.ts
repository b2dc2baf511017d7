// The input rules as modules declare them, on a schema of their own: global ids declared with
// `t.arg.globalID({ for })` / `t.globalID({ for })` are checked against their type, text fields
// marked `extensions: { multiline: true }` may span lines, and every problem is named by its path.
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { findInputProblem } from '../../src/graphql/input-rules';
import { decodeGlobalIdOrThrow } from '../../src/graphql/global-ids';

const builder = new SchemaBuilder<{ DefaultFieldNullability: false }>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: { decodeGlobalID: decodeGlobalIdOrThrow },
});

const Thing = builder.node(builder.objectRef<{ id: string }>('Thing'), {
  id: { resolve: (thing) => thing.id },
  loadOne: (id) => ({ id }),
  fields: (t) => ({ uuid: t.exposeString('id') }),
});

builder.node(builder.objectRef<{ id: string }>('Other'), { id: { resolve: (other) => other.id }, loadOne: (id) => ({ id }), fields: () => ({}) });

const NoteInput = builder.inputType('NoteInput', {
  fields: (t) => ({
    title: t.string({ required: true }),
    body: t.string({ extensions: { multiline: true } }),
    thingIds: t.globalIDList({ for: Thing }),
  }),
});

builder.queryType({
  fields: (t) => ({
    thing: t.field({
      type: Thing,
      args: { id: t.arg.globalID({ for: Thing, required: true }) },
      resolve: (_root, { id }) => ({ id: `${id.typename}/${id.id}` }),
    }),
    note: t.string({ args: { input: t.arg({ type: NoteInput, required: true }) }, resolve: (_root, { input }) => JSON.stringify(input) }),
  }),
});

const schema = builder.toSchema();
const thingId = btoa(`Thing:${crypto.randomUUID()}`);
const problem = (query: string, variables?: Record<string, unknown>) => findInputProblem(schema, parse(query), undefined, variables);

describe('input rules on a module’s declarations', () => {
  it('checks a global id against the type it is declared for, naming the argument', () => {
    expect(problem('query ($id: ID!) { thing(id: $id) { uuid } }', { id: thingId })).toBeUndefined();
    expect(problem('query ($id: ID!) { thing(id: $id) { uuid } }', { id: btoa(`Other:${crypto.randomUUID()}`) })).toEqual({
      field: 'id',
      message: 'not a Thing id',
    });
    expect(problem('query ($id: ID!) { thing(id: $id) { uuid } }', { id: btoa('Thing:not-a-uuid') })).toEqual({ field: 'id', message: 'not a Thing id' });
  });

  it('hands the resolver the decoded type and UUID', async () => {
    const uuid = crypto.randomUUID();
    const result = await execute({ schema, document: parse(`{ thing(id: "${btoa(`Thing:${uuid}`)}") { uuid } }`), contextValue: {} });
    expect(result).toEqual({ data: { thing: { uuid: `Thing/${uuid}` } } });
  });

  it('names fields and list items of inputs by their path', () => {
    const query = 'query ($input: NoteInput!) { note(input: $input) }';
    expect(problem(query, { input: { title: 'ok', thingIds: [thingId, 'junk'] } })).toEqual({ field: 'input.thingIds.1', message: 'not a Thing id' });
    expect(problem(query, { input: { title: 'bad\u0000' } })).toEqual({ field: 'input.title', message: 'must not contain control characters' });
    expect(problem(query, { input: { title: 'ok', thingIds: Array.from({ length: 101 }, () => thingId) } })).toEqual({
      field: 'input.thingIds',
      message: 'at most 100 ids in one request, not 101',
    });
  });

  it('lets a field marked multiline span lines, and no other', () => {
    const query = 'query ($input: NoteInput!) { note(input: $input) }';
    expect(problem(query, { input: { title: 'ok', body: 'line one\nline two' } })).toBeUndefined();
    expect(problem(query, { input: { title: 'line one\nline two' } })).toEqual({ field: 'input.title', message: 'must not contain control characters' });
  });

  it('finds arguments inside fragments and literals as well as in variables', () => {
    expect(problem(`query { ...F } fragment F on Query { note(input: { title: "x\\u0007" }) }`)).toEqual({
      field: 'input.title',
      message: 'must not contain control characters',
    });
    expect(problem(`query { ... on Query { thing(id: "${btoa('Thing:1')}") { uuid } } }`)).toEqual({ field: 'id', message: 'not a Thing id' });
  });
});
