// How resolver errors reach clients (src/graphql/errors.ts): Pothos's errors are GraphQLErrors, but
// only its validation errors describe the request; a schema error is a bug of the server. Run in
// workerd, where one copy of graphql is bundled (under Node, Pothos may load another copy, and its
// errors would not be GraphQLErrors of ours).
import { PothosSchemaError, PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { maskError, unexpectedErrorMessage } from '../../src/graphql/errors';

const wrapped = (cause: Error) => new GraphQLError(cause.message, { originalError: cause });

describe('maskError', () => {
  it('masks a Pothos schema error (a type the schema lacks) as INTERNAL, without its message', () => {
    const masked = maskError(wrapped(new PothosSchemaError('VcsProvider has not been implemented')), unexpectedErrorMessage) as GraphQLError;
    expect(masked.message).toBe(unexpectedErrorMessage);
    expect(masked.extensions.code).toBe('INTERNAL');
  });

  it('keeps a Pothos validation error (a malformed argument) as BAD_USER_INPUT with its message', () => {
    const masked = maskError(wrapped(new PothosValidationError('Invalid global ID')), unexpectedErrorMessage) as GraphQLError;
    expect(masked.message).toBe('Invalid global ID');
    expect(masked.extensions.code).toBe('BAD_USER_INPUT');
  });
});
