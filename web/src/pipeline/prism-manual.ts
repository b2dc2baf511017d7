// Prism highlights every `code.language-*` on the page by itself unless told not to, before it
// loads: this module is imported ahead of it (hcl-highlight.ts), so only our own calls highlight.
const scope = globalThis as unknown as { Prism?: { manual?: boolean } };
scope.Prism = { ...scope.Prism, manual: true };
