// Release notes and comments are Markdown written by people: rendered by marked, then sanitized by
// DOMPurify (no scripts, no event handlers, no javascript: links) before they reach innerHTML.
// Imported only by the release page, so neither library weighs on any other page.
import DOMPurify from 'dompurify';
import { marked } from 'marked';

let hooked = false;

/** Markdown as safe HTML: links open outside the console, without handing it the opener. */
export function renderMarkdown(markdown: string): string {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A' && node.hasAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  const html = marked.parse(markdown, { async: false, gfm: true, breaks: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'] });
}
