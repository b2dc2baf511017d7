// The browsable API reference at /api/docs: server-rendered HTML generated from the OpenAPI
// document, with no script, no font and nothing fetched from elsewhere.
//
// Why not Swagger UI, Redoc or Scalar: each is a JavaScript application of 0.5–1.5 MB (minified)
// that would have to be bundled into the Worker (the bundle must stay under 1 MiB gzipped, and is
// already ~0.7 MiB) or loaded from a CDN (which the issue rules out, and which the page's CSP
// forbids). A reference needs no interactivity: operations grouped by tag with their parameters,
// bodies, responses and schemas, and the authentication schemes, all readable and linkable, which
// plain HTML does in a few kilobytes. hono/html escapes every interpolated value.
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ApiDocument } from './api-document';
import { undocumentedRoutes } from './undocumented-routes';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

// The document's objects, as far as the page reads them.
interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  default?: unknown;
  example?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}
interface MediaTypes {
  [mediaType: string]: { schema?: Schema };
}
interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  deprecated?: boolean;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content?: MediaTypes };
  responses?: Record<string, { description?: string; content?: MediaTypes; headers?: Record<string, { description?: string }> }>;
}
interface SecurityScheme {
  type: string;
  scheme?: string;
  bearerFormat?: string;
  name?: string;
  in?: string;
  description?: string;
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Description text (CommonMark in OpenAPI) as HTML; only its `code spans` are rendered, the rest stays text. */
function prose(text: string | undefined): Html {
  const parts = (text ?? '').split('`');
  return html`${parts.map((part, index) => (index % 2 === 1 && index < parts.length - 1 ? html`<code>${part}</code>` : part))}`;
}

const anchor = (text: string) => text.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
const schemaName = (ref: string) => ref.replace('#/components/schemas/', '');

function typeOf(schema: Schema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const types = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? '');
  const format = schema.format ? ` (${schema.format})` : '';
  if (types === 'array' && schema.items) return `array of ${schema.items.$ref ? schemaName(schema.items.$ref) : typeOf(schema.items)}`;
  return `${types}${format}`;
}

function constraints(schema: Schema): string[] {
  const notes: string[] = [];
  if (schema.enum) notes.push(`one of ${schema.enum.map((value) => JSON.stringify(value)).join(', ')}`);
  if (schema.minimum !== undefined) notes.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) notes.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) notes.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) notes.push(`at most ${schema.maxLength} characters`);
  if (schema.pattern) notes.push(`matches ${schema.pattern}`);
  if (schema.default !== undefined) notes.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.example !== undefined) notes.push(`e.g. ${JSON.stringify(schema.example)}`);
  return notes;
}

/** A schema as nested lists, deep enough to read a body; named schemas are links. */
function renderSchema(schema: Schema | undefined, depth = 0): Html {
  if (!schema) return html``;
  if (schema.$ref) return html`<a class="ref" href="#schema-${anchor(schemaName(schema.$ref))}">${schemaName(schema.$ref)}</a>`;
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    return html`<span class="type">one of</span>
      <ul>
        ${alternatives.map((alternative) => html`<li>${renderSchema(alternative, depth + 1)}</li>`)}
      </ul>`;
  }
  if (schema.allOf) return html`${schema.allOf.map((part) => renderSchema(part, depth + 1))}`;
  const notes = constraints(schema);
  const head = html`<span class="type">${typeOf(schema)}</span>${schema.description ? html` — ${prose(schema.description)}` : ''}${
    notes.length > 0 ? html` <span class="notes">(${notes.join('; ')})</span>` : ''
  }`;
  if (depth > 6) return head;
  if (schema.properties) {
    const required = new Set(schema.required ?? []);
    return html`${head}
      <ul>
        ${Object.entries(schema.properties).map(
          ([name, property]) =>
            html`<li><code>${name}</code>${required.has(name) ? html` <span class="required">required</span>` : ''}: ${renderSchema(property, depth + 1)}</li>`,
        )}
      </ul>`;
  }
  if (schema.items && !schema.items.$ref && (schema.items.properties || schema.items.anyOf || schema.items.oneOf)) {
    return html`${head}
      <ul>
        <li>items: ${renderSchema(schema.items, depth + 1)}</li>
      </ul>`;
  }
  if (typeof schema.additionalProperties === 'object') {
    return html`${head}
      <ul>
        <li>each value: ${renderSchema(schema.additionalProperties, depth + 1)}</li>
      </ul>`;
  }
  return head;
}

function renderContent(content: MediaTypes | undefined): Html {
  if (!content) return html``;
  return html`${Object.entries(content).map(([mediaType, media]) => html`<div class="media"><code>${mediaType}</code>: ${renderSchema(media.schema)}</div>`)}`;
}

function renderSecurity(operation: Operation, document: ApiDocument): Html {
  const requirements = (operation.security ?? document.security ?? []) as Record<string, string[]>[];
  if (requirements.length === 0) return html`<p class="auth">Public: no credentials needed.</p>`;
  return html`<p class="auth">Credentials: ${requirements.map((requirement) => Object.keys(requirement).join(' + ')).join(' or ')}.</p>`;
}

function renderOperation(method: string, path: string, operation: Operation, document: ApiDocument): Html {
  const id = anchor(`${method}-${path}`);
  return html`<section class="operation" id="${id}">
    <h3><a href="#${id}"><span class="method ${method}">${method.toUpperCase()}</span> <code>${path}</code></a>${
      operation.deprecated ? html` <span class="deprecated">deprecated</span>` : ''
    }</h3>
    ${operation.summary ? html`<p><strong>${prose(operation.summary)}</strong></p>` : ''}
    ${operation.description ? html`<p>${prose(operation.description)}</p>` : ''}
    ${renderSecurity(operation, document)}
    ${
      operation.parameters && operation.parameters.length > 0
        ? html`<h4>Parameters</h4>
            <table>
              <thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr></thead>
              <tbody>
                ${operation.parameters.map(
                  (parameter) =>
                    html`<tr>
                      <td><code>${parameter.name}</code>${parameter.required ? html` <span class="required">required</span>` : ''}</td>
                      <td>${parameter.in}</td>
                      <td>${parameter.schema ? renderSchema(parameter.schema) : ''}</td>
                      <td>${prose(parameter.description)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }
    ${
      operation.requestBody
        ? html`<h4>Request body${operation.requestBody.required ? html` <span class="required">required</span>` : ''}</h4>
            ${operation.requestBody.description ? html`<p>${operation.requestBody.description}</p>` : ''}${renderContent(operation.requestBody.content)}`
        : ''
    }
    <h4>Responses</h4>
    <dl class="responses">
      ${Object.entries(operation.responses ?? {}).map(
        ([status, response]) => html`<dt>${status}</dt>
          <dd>${prose(response.description)}${renderContent(response.content)}</dd>`,
      )}
    </dl>
  </section>`;
}

const style = `
body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f24; line-height: 1.45; }
header, main { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 1px solid #d0d7de; padding-bottom: 1rem; }
nav ul { columns: 2; padding-left: 1.2rem; }
code { font-family: ui-monospace, monospace; font-size: .92em; }
.operation { border: 1px solid #d0d7de; border-radius: 6px; padding: .25rem 1rem 1rem; margin: 1rem 0; }
.operation h3 a { color: inherit; text-decoration: none; }
.method { display: inline-block; min-width: 4.2rem; text-align: center; border-radius: 4px; color: #fff; font-size: .8em; padding: .1rem .3rem; }
.get { background: #0969da; } .post { background: #1a7f37; } .put { background: #9a6700; } .delete { background: #cf222e; } .patch { background: #8250df; }
.required { color: #cf222e; font-size: .8em; } .deprecated { color: #9a6700; font-size: .8em; } .notes, .auth { color: #57606a; }
.type { font-family: ui-monospace, monospace; font-size: .9em; color: #0550ae; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
dt { font-weight: bold; margin-top: .5rem; } dd { margin-left: 1.5rem; } .media { margin-top: .25rem; }
ul { margin: .2rem 0; }
`;

/** The reference page for `document`. */
export function renderReferencePage(document: ApiDocument): Html {
  const paths = (document.paths ?? {}) as Record<string, Partial<Record<(typeof methods)[number], Operation>>>;
  const byTag = new Map<string, { method: string; path: string; operation: Operation }[]>();
  for (const tag of document.tags ?? []) byTag.set(tag.name, []);
  for (const [path, item] of Object.entries(paths)) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] ?? 'Other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, operation });
    }
  }
  const tagged = [...byTag].filter(([, operations]) => operations.length > 0);
  const descriptions = new Map((document.tags ?? []).map((tag) => [tag.name, tag.description]));
  const schemes = Object.entries((document.components?.securitySchemes ?? {}) as Record<string, SecurityScheme>);
  const schemas = Object.entries((document.components?.schemas ?? {}) as Record<string, Schema>);
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${document.info.title} · reference</title>
    <style>${raw(style)}</style>
  </head>
  <body>
    <header>
      <h1>${document.info.title} <small>v${document.info.version}</small></h1>
      ${(document.info.description ?? '').split('\n\n').map((paragraph) => html`<p>${prose(paragraph)}</p>`)}
      <p>The machine-readable document: <a href="/api/docs/openapi.json">/api/docs/openapi.json</a> (OpenAPI ${document.openapi}).</p>
      <nav>
        <ul>
          <li><a href="#authentication">Authentication</a></li>
          ${tagged.map(([tag]) => html`<li><a href="#tag-${anchor(tag)}">${tag}</a></li>`)}
          <li><a href="#schemas">Schemas</a></li>
          <li><a href="#elsewhere">Described elsewhere</a></li>
        </ul>
      </nav>
    </header>
    <main>
      <h2 id="authentication">Authentication</h2>
      <dl>
        ${schemes.map(
          ([name, scheme]) => html`<dt><code>${name}</code>: ${
            scheme.type === 'apiKey' ? html`header <code>${scheme.name}</code>` : html`<code>Authorization: Bearer</code> ${scheme.bearerFormat ?? ''}`
          }</dt>
          <dd>${prose(scheme.description)}</dd>`,
        )}
      </dl>
      ${tagged.map(
        ([tag, operations]) => html`<h2 id="tag-${anchor(tag)}">${tag}</h2>
          ${descriptions.get(tag) ? html`<p>${prose(descriptions.get(tag))}</p>` : ''}
          ${operations.map(({ method, path, operation }) => renderOperation(method, path, operation, document))}`,
      )}
      <h2 id="schemas">Schemas</h2>
      ${schemas.map(([name, schema]) => html`<section class="operation" id="schema-${anchor(name)}"><h3>${name}</h3>${renderSchema(schema)}</section>`)}
      <h2 id="elsewhere">Described elsewhere</h2>
      <dl>
        ${undocumentedRoutes
          .filter((entry) => entry.routes.startsWith('/'))
          .map((entry) => html`<dt><code>${entry.routes}</code></dt><dd>${prose(entry.reason)}</dd>`)}
      </dl>
    </main>
  </body>
</html>`;
}
