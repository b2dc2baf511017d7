// Limits on what one GraphQL request may ask for, so no query can exhaust a Worker's CPU or the
// database. Always on: document size (maxRequestBodySize in server.ts), tokens, depth, aliases,
// global ids per list (input-rules.ts) and complexity. Complexity is at most
// PHOBOS_MAX_GRAPHQL_COMPLEXITY; its default 0, which the Phobos API reads as "unlimited", means
// queryLimits.defaultMaxComplexity here: a Worker has no CPU to spare for an unbounded query.
//
// Complexity is computed here rather than with graphql-armor's cost-limit, whose estimate ignores
// page sizes passed as variables (`first: $n` costs as much as one item) and reports the cost only
// inside its message. It runs just before execution — after validation, with the variables — so a
// rejected query runs no resolver:
// - every field costs 1 (`__typename` and introspection cost nothing);
// - an object field adds the cost of its selection;
// - a list field adds the cost of its selection times the items it may return: for a connection's
//   `edges`/`nodes`, the page size asked for with `first`/`last` (default 20, at most 100, as
//   connections.ts serves them); else the length of its `ids` argument, or the size its field
//   declares (`extensions: { listSize: n }`, for lists bounded by what they belong to, such as the
//   stages of a pipeline), or 20.
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import {
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { connectionSizes } from './connections';
import type { GraphQLContext } from './context';
import { clientError } from './errors';

export const queryLimits = {
  /** Bytes of a GraphQL document; larger ones are refused with 413 before parsing. */
  maxDocumentBytes: 100 * 1024,
  /** Lexical tokens of a document: bounds the parser's work. */
  maxTokens: 5000,
  /** Nesting of selections (a connection's `edges { node { … } }` takes three). */
  maxDepth: 12,
  /** Aliased fields: each alias runs its field again. */
  maxAliases: 15,
  /** Global ids in one list argument (`nodes(ids:)`): each is a lookup. */
  maxGlobalIdsPerList: 100,
  /**
   * Complexity when PHOBOS_MAX_GRAPHQL_COMPLEXITY is 0. Every real page fits: a connection of 100
   * items with ten fields each costs about 1,100, `nodes` of 100 ids with the same fields as much.
   */
  defaultMaxComplexity: 10_000,
} as const;

/** Unlisted list fields are assumed to return this many items. */
const defaultListSize = 20;

/** graphql-armor words its messages as syntax errors; these are limits, reported as such. */
function limitError(error: GraphQLError): GraphQLError {
  return clientError(error.message.replace(/^Syntax Error: /, ''), 'BAD_USER_INPUT');
}

const reportLimit = (context: ValidationContext | null, error: GraphQLError) => context?.reportError(limitError(error));

interface CostContext {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  visiting: Set<string>;
}

function literalValue(node: ValueNode | undefined, context: CostContext): unknown {
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number.parseInt(node.value, 10);
  if (node.kind === Kind.LIST) return node.values;
  if (node.kind === Kind.VARIABLE) return context.variables[node.name.value];
  return undefined;
}

function argument(field: FieldNode, name: string, context: CostContext): unknown {
  return literalValue(field.arguments?.find((candidate) => candidate.name.value === name)?.value, context);
}

function requestedPageSize(field: FieldNode, context: CostContext): number {
  const sizes = ['first', 'last'].map((name) => argument(field, name, context)).filter((value): value is number => typeof value === 'number');
  if (sizes.length === 0) return connectionSizes.defaultSize;
  return Math.min(Math.max(0, ...sizes), connectionSizes.maxSize);
}

/** `pageSize` is set inside a connection: how many items its `edges` and `nodes` lists hold. */
function selectionCost(selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, context: CostContext, pageSize?: number): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const items = pageSize !== undefined && (selection.name.value === 'edges' || selection.name.value === 'nodes') ? pageSize : undefined;
      total += fieldCost(selection, parent, context, items);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? context.schema.getType(selection.typeCondition.name.value) : parent;
      total += selectionCost(selection.selectionSet, type ?? undefined, context, pageSize);
    } else {
      const name = selection.name.value;
      const fragment = context.fragments[name];
      // Validation already refused cycles; this only guards the recursion.
      if (!fragment || context.visiting.has(name)) continue;
      context.visiting.add(name);
      total += selectionCost(fragment.selectionSet, context.schema.getType(fragment.typeCondition.name.value) ?? undefined, context, pageSize);
      context.visiting.delete(name);
    }
  }
  return total;
}

function fieldCost(field: FieldNode, parent: GraphQLNamedType | undefined, context: CostContext, items?: number): number {
  if (field.name.value.startsWith('__')) return 0;
  const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[field.name.value] : undefined;
  if (!field.selectionSet || !definition) return 1;
  const type = getNamedType(definition.type);
  const isConnection = definition.args.some((arg) => arg.name === 'first' || arg.name === 'last');
  const children = selectionCost(field.selectionSet, type, context, isConnection ? requestedPageSize(field, context) : undefined);
  if (!isListType(getNullableType(definition.type))) return 1 + children;
  const ids = argument(field, 'ids', context);
  const declared = (definition.extensions as { listSize?: number } | undefined)?.listSize;
  return 1 + (items ?? (Array.isArray(ids) ? ids.length : (declared ?? defaultListSize))) * children;
}

/** The complexity of the operation that would run, by the rules in the header. */
function queryComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const values: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const defaultValue = definition.defaultValue;
    values[name] =
      variables?.[name] ??
      (defaultValue?.kind === Kind.INT ? Number.parseInt(defaultValue.value, 10) : defaultValue?.kind === Kind.LIST ? defaultValue.values : undefined);
  }
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const root = schema.getRootType(operation.operation) ?? undefined;
  return selectionCost(operation.selectionSet, root, { schema, fragments, variables: values, visiting: new Set() });
}

/** What onExecute (queries, mutations) and onSubscribe (subscriptions) both give a plugin. */
export interface OperationHookPayload {
  args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: Record<string, unknown> | null;
    contextValue: unknown;
  };
  setResultAndStopExecution: (result: { errors: readonly Error[] }) => void;
}

function checkComplexity({ args, setResultAndStopExecution }: OperationHookPayload): void {
  const maximum = (args.contextValue as GraphQLContext).config.server.maxGraphqlComplexity || queryLimits.defaultMaxComplexity;
  const complexity = queryComplexity(args.schema, args.document, args.operationName, args.variableValues);
  if (complexity > maximum) {
    setResultAndStopExecution({
      errors: [clientError(`Query complexity ${complexity} exceeds the maximum of ${maximum}.`, 'BAD_USER_INPUT', { complexity, maxComplexity: maximum })],
    });
  }
}

/** Queries and mutations run through onExecute; subscriptions through onSubscribe (the cost of one event). */
function useComplexityLimit(): Plugin<GraphQLContext> {
  return { onExecute: checkComplexity, onSubscribe: checkComplexity };
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a document, counted only when its length alone does not settle the question. */
function documentBytes(text: string): number {
  return text.length * 3 <= queryLimits.maxDocumentBytes ? text.length : encoder.encode(text).byteLength;
}

/**
 * The document's size is checked once the request is read, before parsing. It applies to the
 * document, not the request body: variables may carry more (a pipeline template), and the body as a
 * whole is bounded by the route's body limit (src/http/body-limit.ts) before GraphQL sees it. (A
 * check inside parsing would be reported with status 200: yoga marks parse errors as GraphQL's own.)
 */
function useDocumentSizeLimit(): Plugin<GraphQLContext> {
  return {
    onParams({ params }) {
      if (typeof params.query === 'string' && documentBytes(params.query) > queryLimits.maxDocumentBytes) {
        throw clientError(`GraphQL documents are limited to ${queryLimits.maxDocumentBytes} bytes.`, 'PAYLOAD_TOO_LARGE', {
          limit: queryLimits.maxDocumentBytes,
          http: { status: 413 },
        });
      }
    },
  };
}

/**
 * graphql-js counts tokens itself (`maxLexicalTokens`) and stops parsing at the limit. (Not
 * graphql-armor's max-tokens: it imports graphql's CommonJS parser, which would put a second copy
 * of graphql's error classes into the bundle, whose syntax errors no longer pass as GraphQLErrors.)
 */
function useTokenLimit(): Plugin<GraphQLContext> {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parse(source, { ...options, maxLexicalTokens: queryLimits.maxTokens });
        } catch (error) {
          if (error instanceof GraphQLError && /\d+ tokens\. Parsing aborted\.$/.test(error.message)) {
            throw clientError(`Token limit of ${queryLimits.maxTokens} exceeded.`, 'BAD_USER_INPUT');
          }
          throw error;
        }
      });
    },
  };
}

/** The yoga plugins enforcing every limit on a document. */
export function queryLimitPlugins(): Plugin<GraphQLContext>[] {
  return [
    useDocumentSizeLimit(),
    useTokenLimit(),
    maxDepthPlugin({ n: queryLimits.maxDepth, propagateOnRejection: false, onReject: [reportLimit] }),
    maxAliasesPlugin({ n: queryLimits.maxAliases, propagateOnRejection: false, onReject: [reportLimit] }),
    useComplexityLimit(),
  ] as Plugin<GraphQLContext>[];
}
