// oidc-provider ships no type declarations; the tests use a small, loosely typed part of it.
declare module 'oidc-provider' {
  // biome-ignore lint/suspicious/noExplicitAny: the package has no types; the tests call a few members.
  const Provider: new (issuer: string, configuration: Record<string, unknown>) => any;
  export default Provider;
}
