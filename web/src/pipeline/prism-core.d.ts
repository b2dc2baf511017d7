// Prism's core alone (without the languages prismjs's main module bundles), typed as prismjs.
declare module 'prismjs/components/prism-core' {
  import Prism from 'prismjs';
  export default Prism;
}
declare module 'prismjs/components/prism-hcl';
