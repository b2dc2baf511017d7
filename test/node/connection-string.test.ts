import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { connectionStringFor, databaseVariablesFor } from '../../src/db/connection-string';

/** PHOBOS_DB_* as the Worker reads them: through the configuration parser. */
const urlOfVariables = (variables: Record<string, string>) => connectionStringFor(loadConfig(variables).database);

describe('PHOBOS_DB_* and connection URLs', () => {
  it('turns a URL into the variables, decoding every part', () => {
    expect(databaseVariablesFor('postgresql://ops%40acme:p%40ss%3Aw%2Frd@db.example.com:6543/phobos%20prod?sslmode=require')).toEqual({
      PHOBOS_DB_HOST: 'db.example.com',
      PHOBOS_DB_PORT: '6543',
      PHOBOS_DB_USERNAME: 'ops@acme',
      PHOBOS_DB_PASSWORD: 'p@ss:w/rd',
      PHOBOS_DB_NAME: 'phobos prod',
      PHOBOS_DB_SSL_MODE: 'require',
    });
  });

  it('leaves the SSL mode to its default and names the default port when the URL has none', () => {
    expect(databaseVariablesFor('postgresql://postgres@127.0.0.1/test')).toEqual({
      PHOBOS_DB_HOST: '127.0.0.1',
      PHOBOS_DB_PORT: '5432',
      PHOBOS_DB_USERNAME: 'postgres',
      PHOBOS_DB_PASSWORD: '',
      PHOBOS_DB_NAME: 'test',
    });
  });

  it.each([
    'postgresql://ops%40acme:p%40ss%3Aw%2Frd@db.example.com:6543/phobos%20prod?sslmode=require',
    'postgresql://postgres@127.0.0.1:5432/test',
    'postgresql://phobos:secret@[::1]:54329/phobos?sslmode=verify-full',
  ])('round-trips %s through the variables and the configuration parser', (url) => {
    expect(urlOfVariables(databaseVariablesFor(url))).toBe(url);
  });

  it('fills what PHOBOS_DB_* leaves unset with the local defaults', () => {
    expect(connectionStringFor({})).toBe('postgresql://postgres@127.0.0.1:5432/phobos');
    expect(urlOfVariables({ PHOBOS_DB_HOST: 'db', PHOBOS_DB_SSL_MODE: 'disable' })).toBe('postgresql://postgres@db:5432/phobos?sslmode=disable');
  });
});
